using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;
using NodeAgent.Contracts.Transport;

namespace NodeAgent.Agent.Etcd;

/// <summary>
/// etcd's Maintenance service through the gRPC client that dotnet-etcd generates. The stream is
/// consumed chunk by chunk (etcd sends 32 KiB messages), so memory stays flat at any db size.
/// </summary>
internal sealed class GrpcEtcdMaintenance : IEtcdMaintenance
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(10);
    private readonly EtcdConnectionOptions _options;
    private readonly Dictionary<Uri, GrpcChannel> _channels = [];
    private readonly X509Certificate2? _clientCertificate;
    private readonly X509Certificate2? _ca;
    private Uri? _selected;

    public GrpcEtcdMaintenance(EtcdConnectionOptions options)
    {
        _options = options;
        if (options.Endpoints.Any(e => e.Scheme == Uri.UriSchemeHttps))
        {
            _ca = options.CaCertFile is null ? null : LoadCa(options.CaCertFile);
            _clientCertificate = options.CertFile is null ? null : LoadClientCertificate(options.CertFile, options.KeyFile);
        }
    }

    public async Task<EtcdMemberStatus> StatusAsync(CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        foreach (var endpoint in _options.Endpoints)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StatusTimeout);
            try
            {
                var status = await Client(endpoint).StatusAsync(new StatusRequest(), cancellationToken: timeout.Token);
                _selected = endpoint;
                return new EtcdMemberStatus(endpoint, status.Version, status.Header.Revision, status.DbSize, status.Header.MemberId, status.IsLearner, status.Leader);
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                failures.Add($"{endpoint.GetLeftPart(UriPartial.Authority)}: {Describe(ex)}");
            }
            catch (RpcException ex)
            {
                // Our own cancellation (Ctrl-C, a stopping agent) as .NET says it, not as a broken etcd.
                throw new OperationCanceledException("etcd Status cancelled", ex, cancellationToken);
            }
        }
        throw new EtcdUnavailableException("etcd is not reachable (" + string.Join("; ", failures) + ")");
    }

    public async Task<int> MemberCountAsync(CancellationToken cancellationToken)
    {
        var endpoint = _selected ?? (await StatusAsync(cancellationToken)).Endpoint;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StatusTimeout);
        try
        {
            return (await new Cluster.ClusterClient(Channel(endpoint)).MemberListAsync(new MemberListRequest(), cancellationToken: timeout.Token)).Members.Count;
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EtcdUnavailableException($"etcd MemberList at {endpoint.GetLeftPart(UriPartial.Authority)} failed: {Describe(ex)}", ex);
        }
        catch (RpcException ex)
        {
            throw new OperationCanceledException("etcd MemberList cancelled", ex, cancellationToken);
        }
    }

    public async IAsyncEnumerable<ReadOnlyMemory<byte>> SnapshotAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var endpoint = _selected ?? (await StatusAsync(cancellationToken)).Endpoint;
        var chunk = new SnapshotChunkMarshaller();
        // Armed only while waiting for etcd, so time spent writing (or waiting for an upload) never counts as a stall.
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var call = Channel(endpoint).CreateCallInvoker()
            .AsyncServerStreamingCall(chunk.CreateMethod(), null, new CallOptions(cancellationToken: stall.Token), new SnapshotRequest());
        var stream = call.ResponseStream;
        while (true)
        {
            bool more;
            try
            {
                stall.CancelAfter(_options.SnapshotStallTimeout);
                more = await stream.MoveNext(stall.Token);
                stall.CancelAfter(Timeout.InfiniteTimeSpan);
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is RpcException or OperationCanceledException)
            {
                throw new OperationCanceledException("etcd snapshot stream cancelled", ex, cancellationToken);
            }
            catch (Exception ex) when (stall.IsCancellationRequested && ex is RpcException or OperationCanceledException)
            {
                throw new EtcdUnavailableException(
                    $"etcd snapshot stream from {endpoint.GetLeftPart(UriPartial.Authority)} stalled: no data for {Seconds(_options.SnapshotStallTimeout)}", ex);
            }
            catch (RpcException ex)
            {
                throw new EtcdUnavailableException($"etcd snapshot stream from {endpoint.GetLeftPart(UriPartial.Authority)} broke: {Describe(ex)}", ex);
            }
            if (!more)
            {
                yield break;
            }
            yield return stream.Current.Blob;
        }
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
        _clientCertificate?.Dispose();
        _ca?.Dispose();
    }

    private Maintenance.MaintenanceClient Client(Uri endpoint) => new(Channel(endpoint));

    private GrpcChannel Channel(Uri endpoint)
    {
        if (!_channels.TryGetValue(endpoint, out var channel))
        {
            channel = GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
            {
                HttpHandler = CreateHandler(),
                MaxReceiveMessageSize = 64 * 1024 * 1024,
                DisposeHttpClient = true,
            });
            _channels[endpoint] = channel;
        }
        return channel;
    }

    private SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) };
        if (_clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [_clientCertificate];
        }
        if (_ca is not null)
        {
            var roots = new X509Certificate2Collection(_ca);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => PinnedCa.ChainsToRoots(certificate, errors, roots);
        }
        return handler;
    }

    private static X509Certificate2 LoadCa(string path)
    {
        try
        {
            return PinnedCa.LoadPem(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException)
        {
            throw new EtcdRequestException($"etcd CA certificate: {ex.Message}", ex);
        }
    }

    private static X509Certificate2 LoadClientCertificate(string certFile, string? keyFile)
    {
        foreach (var file in new[] { certFile, keyFile })
        {
            if (file is not null && !File.Exists(file))
            {
                throw new EtcdRequestException($"etcd client certificate file {file} does not exist");
            }
        }
        try
        {
            return X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (CryptographicException ex)
        {
            throw new EtcdRequestException($"etcd client certificate {certFile} / key {keyFile} cannot be loaded: {ex.Message}", ex);
        }
    }

    private static string Seconds(TimeSpan value) => value.TotalSeconds == Math.Floor(value.TotalSeconds)
        ? string.Create(CultureInfo.InvariantCulture, $"{value.TotalSeconds}s")
        : string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds}ms");

    private static string Describe(RpcException ex) => ex.StatusCode switch
    {
        StatusCode.Unavailable => $"unavailable ({ex.Status.Detail})",
        StatusCode.DeadlineExceeded or StatusCode.Cancelled => "no answer in time",
        _ => $"{ex.StatusCode}: {ex.Status.Detail}",
    };
}
