using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// The set-up the S3 snapshot tests share: a bucket of the test's own on a test server, the store
/// the agent builds for it (plain HTTP, the server's keys, one quick retry), and a saver on a test etcd.
/// </summary>
internal static class S3TestStores
{
    /// <summary>The target as the agent takes it: plain HTTP to <paramref name="server"/> with its keys, 30 s a request.</summary>
    public static S3Settings Settings(IS3TestServer server, string bucket, string? secretKey = null) => new()
    {
        Endpoint = server.HttpEndpoint.Authority,
        Insecure = true,
        Bucket = bucket,
        AccessKey = server.AccessKey,
        SecretKey = secretKey ?? server.SecretKey,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public static S3SnapshotStore Store(IS3TestServer server, string bucket, string? secretKey = null) => Store(Settings(server, bucket, secretKey));

    /// <summary>The store for <paramref name="settings"/> (validated here), retrying once after 50 ms.</summary>
    public static S3SnapshotStore Store(S3Settings settings)
    {
        var validated = settings.Validated();
        return new S3SnapshotStore(S3ClientFactory.Create(validated), validated, new S3Retry(1, TimeSpan.FromMilliseconds(50)).Build(TimeProvider.System, validated.Timeout), TimeProvider.System,
            NullLogger<S3SnapshotStore>.Instance);
    }

    /// <summary>A new bucket named <paramref name="prefix"/> and 12 random hex digits (<see cref="S3Buckets.NewBucketAsync"/>).</summary>
    public static Task<string> NewBucketAsync(IS3TestServer server, string prefix, bool objectLock = false) => server.NewBucketAsync(prefix, objectLock);

    /// <summary>The agent's saver on <paramref name="etcd"/>; <paramref name="dataDir"/> is where it looks for etcd's TLS files.</summary>
    public static SnapshotSaver Saver(string dataDir, EtcdServer etcd, TimeProvider time)
        => new(() => new GrpcEtcdMaintenance(EtcdConnectionOptions.Resolve(dataDir, etcd.ClientUrl, null, null, null)), time, NullLogger<SnapshotSaver>.Instance);
}
