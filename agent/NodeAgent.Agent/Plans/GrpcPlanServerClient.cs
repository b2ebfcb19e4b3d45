using Grpc.Core;
using Grpc.Net.Client;
using NodeAgent.Agent.Config;
using NodeAgent.Contracts.Transport;
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
        SocketsHttpHandler handler;
        try
        {
            handler = PinnedCa.CreateHandler(options.ServerCa);
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException)
        {
            throw new ConfigException($"server-ca: {ex.Message}");
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
}
