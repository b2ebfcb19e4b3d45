using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using NodeAgent.Agent.Config;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Plans;

/// <summary>
/// gRPC to the plan server over TLS. With server-ca set, only that CA is trusted (pinned, never
/// a silent fall-back to the system roots). The node credential travels as a bearer token.
/// </summary>
internal sealed class GrpcPlanServerClient : IPlanServerClient, IDisposable
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(30);
    private readonly GrpcChannel _channel;
    private readonly AgentService.AgentServiceClient _client;
    private readonly TimeProvider _time;
    private string _credential = "";

    public GrpcPlanServerClient(AgentOptions options, TimeProvider time)
    {
        _time = time;
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(15),
        };
        if (options.ServerCa.Length > 0)
        {
            var ca = X509CertificateLoader.LoadCertificate(PemCertificate(options.ServerCa));
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                if (certificate is null)
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return chain.Build(leaf);
            };
        }
        var credentials = CallCredentials.FromInterceptor((_, metadata) =>
        {
            if (_credential.Length > 0)
            {
                metadata.Add("authorization", $"Bearer {_credential}");
            }
            return Task.CompletedTask;
        });
        _channel = GrpcChannel.ForAddress(options.Server!, new GrpcChannelOptions
        {
            HttpHandler = handler,
            Credentials = ChannelCredentials.Create(
                options.Server!.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials),
            // Config validation allows http only to loopback.
            UnsafeUseInsecureChannelCallCredentials = options.Server.Scheme == Uri.UriSchemeHttp,
        });
        _client = new AgentService.AgentServiceClient(_channel);
    }

    public void UseCredential(string credential) => _credential = credential;

    public async Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken)
        => await _client.RegisterAsync(request, deadline: Deadline(CallDeadline), cancellationToken: cancellationToken);

    public async Task<GetPlanResponse> GetPlanAsync(GetPlanRequest request, TimeSpan deadline, CancellationToken cancellationToken)
        => await _client.GetPlanAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken);

    public async Task<ReportStatusResponse> ReportStatusAsync(ReportStatusRequest request, CancellationToken cancellationToken)
        => await _client.ReportStatusAsync(request, deadline: Deadline(CallDeadline), cancellationToken: cancellationToken);

    public void Dispose() => _channel.Dispose();

    private DateTime Deadline(TimeSpan after) => _time.GetUtcNow().UtcDateTime + after;

    private static byte[] PemCertificate(string path)
    {
        try
        {
            return Convert.FromBase64String(string.Concat(File.ReadAllLines(path)
                .SkipWhile(l => !l.StartsWith("-----BEGIN CERTIFICATE", StringComparison.Ordinal)).Skip(1)
                .TakeWhile(l => !l.StartsWith("-----END", StringComparison.Ordinal))));
        }
        catch (FormatException ex)
        {
            throw new ConfigException($"server-ca {path} does not hold a PEM certificate: {ex.Message}");
        }
    }
}
