using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;
using NodeAgent.Contracts.Transport;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Store.Etcd;

/// <summary>
/// The plan server's connection to its etcd store: a gRPC channel per member, calls to the member
/// that answered last, and a move to the next member when one is down or hung. Every call has a
/// deadline. A read is tried on each member; a write only moves on when it cannot have been applied
/// (the member was not reached, or etcd said it has no leader): a write whose answer was lost is
/// reported, never sent twice, since a second try of a compare-and-put would look like a conflict.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    /// <summary>How long one call to one member may take.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly EtcdStoreOptions _options;
    private readonly GrpcChannel[] _channels;
    private readonly X509Certificate2? _ca;
    private readonly X509Certificate2? _clientCertificate;
    private int _current;

    public EtcdConnection(EtcdStoreOptions options)
    {
        _options = options;
        _ca = options.CaFile is null ? null : LoadCa(options.CaFile);
        _clientCertificate = options.CertFile is null ? null : LoadClientCertificate(options.CertFile, options.KeyFile!);
        _channels = options.Endpoints.Select(endpoint => GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(),
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            DisposeHttpClient = true,
        })).ToArray();
    }

    public EtcdStoreOptions Options => _options;

    /// <summary>The member calls go to now (the last one that answered).</summary>
    public GrpcChannel Current => _channels[Volatile.Read(ref _current)];

    /// <summary>Calls go to the next member from now on (a stream to the current one broke).</summary>
    public void MoveOn() => Volatile.Write(ref _current, (Volatile.Read(ref _current) + 1) % _channels.Length);

    /// <summary>When set, every read is at this revision: a view of the whole store at one point in time (an export).</summary>
    public long ReadRevision { get; set; }

    public Task<RangeResponse> RangeAsync(RangeRequest request, CancellationToken cancellationToken)
    {
        if (ReadRevision > 0)
        {
            request.Revision = ReadRevision;
        }
        return CallAsync("read", write: false, (channel, options) => new KV.KVClient(channel).RangeAsync(request, options).ResponseAsync, cancellationToken);
    }

    public Task<TxnResponse> TxnAsync(TxnRequest request, CancellationToken cancellationToken)
        => CallAsync("transaction", write: true, (channel, options) => new KV.KVClient(channel).TxnAsync(request, options).ResponseAsync, cancellationToken);

    public Task<PutResponse> PutAsync(PutRequest request, CancellationToken cancellationToken)
        => CallAsync("write", write: true, (channel, options) => new KV.KVClient(channel).PutAsync(request, options).ResponseAsync, cancellationToken);

    /// <summary>Runs <paramref name="call"/> on the current member, moving on as the class says; the store's own words when every member failed.</summary>
    public async Task<T> CallAsync<T>(string what, bool write, Func<GrpcChannel, CallOptions, Task<T>> call, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var start = Volatile.Read(ref _current);
        for (var i = 0; i < _channels.Length; i++)
        {
            var index = (start + i) % _channels.Length;
            try
            {
                // A gRPC deadline is wall-clock time on the wire: the system clock, whatever TimeProvider the server runs on.
                var result = await call(_channels[index], new CallOptions(
                    deadline: TimeProvider.System.GetUtcNow().UtcDateTime + CallTimeout, cancellationToken: cancellationToken));
                Volatile.Write(ref _current, index);
                return result;
            }
            catch (RpcException ex) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException($"etcd store {what} cancelled", ex, cancellationToken);
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                failures.Add($"{Authority(index)}: {Describe(ex)}");
                if (write && !NotApplied(ex))
                {
                    // Not sent again; the next call goes to the next member rather than to this one.
                    Volatile.Write(ref _current, (index + 1) % _channels.Length);
                    throw new StoreUnavailableException(
                        $"etcd store {what} at {Authority(index)} failed after it was sent ({Describe(ex)}); it may or may not have been applied");
                }
            }
            catch (RpcException ex)
            {
                throw new StoreUnavailableException($"etcd store {what} at {Authority(index)} failed: {Describe(ex)}", ex);
            }
        }
        throw new StoreUnavailableException($"etcd store is not reachable for a {what} ({string.Join("; ", failures)})");
    }

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
        _ca?.Dispose();
        _clientCertificate?.Dispose();
    }

    /// <summary>A failure that proves the write did not happen: no connection was made, or etcd refused it before its log.</summary>
    private static bool NotApplied(RpcException ex)
        => ex.StatusCode == StatusCode.Unavailable
            && (ex.InnerException is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }
                // Grpc.Net.Client's words for a connection it could not make.
                || ex.Status.Detail.StartsWith("Error connecting to subchannel", StringComparison.Ordinal)
                || ex.Status.Detail.Contains("etcdserver: no leader", StringComparison.Ordinal)
                || ex.Status.Detail.Contains("etcdserver: not capable", StringComparison.Ordinal));

    private string Authority(int index) => _options.Endpoints[index].GetLeftPart(UriPartial.Authority);

    private static string Describe(RpcException ex) => ex.StatusCode switch
    {
        StatusCode.DeadlineExceeded => $"no answer within {CallTimeout.TotalSeconds:0} s",
        _ => $"{ex.StatusCode}: {ex.Status.Detail}",
    };

    private SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = CallTimeout,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            // A member that stops answering (kill -STOP, a dead link) is noticed by its silence.
            KeepAlivePingDelay = TimeSpan.FromSeconds(5),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            EnableMultipleHttp2Connections = true,
        };
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
            throw new StartupRefusedException($"--store-cacert: {ex.Message}");
        }
    }

    private static X509Certificate2 LoadClientCertificate(string certFile, string keyFile)
    {
        try
        {
            return X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (CryptographicException ex)
        {
            throw new StartupRefusedException($"--store-cert {certFile} / --store-key {keyFile} cannot be loaded: {ex.Message}");
        }
    }
}
