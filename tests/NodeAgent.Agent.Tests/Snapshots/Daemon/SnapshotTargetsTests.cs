using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Agent.Tests.S3;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.Snapshots.Daemon;

/// <summary>The node's snapshot target as the plan changes it: who owns the S3 client, and the preflight of a new target.</summary>
public sealed class SnapshotTargetsTests(SharedS3Servers servers) : IClassFixture<SharedS3Servers>, IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task ApplyAsync_S3TargetChanges_OldClientDisposedOnceItsLastUserIsDone()
    {
        var server = servers.S3rver;
        var bucket = await S3TestStores.NewBucketAsync(server, "tgt");
        await using var targets = Targets();
        await targets.ApplyAsync(Plan(server.HttpEndpoint.Authority, bucket, (server.AccessKey, server.SecretKey)), CancellationToken.None).DefaultTimeout();
        var lease = targets.AcquireS3()!;

        await targets.ApplyAsync(Plan(server.HttpEndpoint.Authority, bucket + "-next", (server.AccessKey, server.SecretKey)), CancellationToken.None).DefaultTimeout();

        // A save still using the old target finishes with it...
        Assert.Empty(await lease.Store.ListAsync(CancellationToken.None).DefaultTimeout());
        lease.Dispose();
        // ...and then its client is gone.
        var ex = await Assert.ThrowsAsync<S3TargetException>(() => lease.Store.ListAsync(CancellationToken.None).DefaultTimeout());
        Assert.IsType<ObjectDisposedException>(ex.InnerException);
    }

    [Fact]
    public async Task ApplyAsync_TargetChangesWhileThePreflightWaits_ThatPreflightIsCancelledBeforeApplyReturns()
    {
        // An S3 endpoint that accepts and never answers.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var endpoint = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        await using var targets = Targets();
        await targets.ApplyAsync(Plan(endpoint, "hanging", null), CancellationToken.None).DefaultTimeout();
        using var connection = await listener.AcceptTcpClientAsync().DefaultTimeout();
        var stream = connection.GetStream();
        var buffer = new byte[64 * 1024];
        Assert.True(await stream.ReadAsync(buffer).AsTask().DefaultTimeout() > 0);

        await targets.ApplyAsync(new SteadyStatePlan { Runtime = Contracts.V1.Runtime.Etcd, SnapshotSettings = new SnapshotSettings { Dir = _root.Combine("snapshots") } },
            CancellationToken.None).DefaultTimeout();

        // The old preflight was cancelled and awaited: its request is gone (the connection closes), not left to run into its 5-minute timeout.
        Assert.Equal(0, await ReadToEndAsync(stream, buffer).DefaultTimeout());
    }

    private static async Task<int> ReadToEndAsync(NetworkStream stream, byte[] buffer)
    {
        try
        {
            while (await stream.ReadAsync(buffer) > 0)
            {
            }
            return 0;
        }
        catch (IOException)
        {
            // Reset rather than closed: gone all the same.
            return 0;
        }
    }

    private SnapshotTargets Targets() => TestSnapshotTargets.Create(TestSnapshotTargets.Options(_root.Path, Contracts.V1.Runtime.Etcd), new FakeTimeProvider(DateTimeOffset.UnixEpoch));

    private SteadyStatePlan Plan(string endpoint, string bucket, (string AccessKey, string SecretKey)? keys)
        => TestSnapshotTargets.Plan(Contracts.V1.Runtime.Etcd, _root.Combine("snapshots"), new Contracts.V1.S3Settings
        {
            Endpoint = endpoint,
            Bucket = bucket,
            Insecure = true,
            BucketLookup = Contracts.V1.BucketLookup.Path,
            Credentials = new S3Credentials { StaticKeys = new S3Credentials.Types.StaticKeys { AccessKey = keys?.AccessKey ?? "key", SecretKey = keys?.SecretKey ?? "secret" } },
        });
}
