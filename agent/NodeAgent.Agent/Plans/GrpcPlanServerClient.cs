using Grpc.Core;
using Grpc.Net.Client;
using NodeAgent.Agent.Config;
using NodeAgent.Contracts.Transport;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Plans;

/// <summary>
/// gRPC to the plan server over TLS. With server-ca set, only that CA is trusted (pinned, never
/// a silent fall-back to the system roots). The node credential travels as a bearer token.
/// With several server addresses, calls go to one of them; a call that finds it gone
/// (<c>UNAVAILABLE</c>: refused, reset) or hung (no answer by the call's deadline) fails as it
/// would with one address, and the next call goes to the next address, in turn. The plan loop's
/// retry is what carries the agent over, with the same credential.
/// </summary>
internal sealed partial class GrpcPlanServerClient : IPlanServerClient, IDisposable
{
    private static readonly TimeSpan CallDeadline = TimeSpan.FromSeconds(30);
    private readonly GrpcChannel[] _channels;
    private readonly AgentService.AgentServiceClient[] _clients;
    private readonly IReadOnlyList<Uri> _servers;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private string _credential = "";
    private int _current;

    public GrpcPlanServerClient(AgentOptions options, TimeProvider time, ILogger<GrpcPlanServerClient> logger)
    {
        _time = time;
        _logger = logger;
        _servers = options.Servers;
        var credentials = CallCredentials.FromInterceptor((_, metadata) =>
        {
            if (_credential.Length > 0)
            {
                metadata.Add("authorization", $"Bearer {_credential}");
            }
            return Task.CompletedTask;
        });
        _channels = _servers.Select(server => GrpcChannel.ForAddress(server, new GrpcChannelOptions
        {
            HttpHandler = Handler(options.ServerCa),
            Credentials = ChannelCredentials.Create(
                server.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials),
            // Config validation allows http only to loopback.
            UnsafeUseInsecureChannelCallCredentials = server.Scheme == Uri.UriSchemeHttp,
        })).ToArray();
        _clients = _channels.Select(channel => new AgentService.AgentServiceClient(channel)).ToArray();
    }

    /// <summary>The address calls go to now.</summary>
    public Uri Current => _servers[Volatile.Read(ref _current)];

    public void UseCredential(string credential) => _credential = credential;

    public Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken)
        => CallAsync(async client => await client.RegisterAsync(request, deadline: Deadline(CallDeadline), cancellationToken: cancellationToken));

    public Task<GetPlanResponse> GetPlanAsync(GetPlanRequest request, TimeSpan deadline, CancellationToken cancellationToken)
        => CallAsync(async client => await client.GetPlanAsync(request, deadline: Deadline(deadline), cancellationToken: cancellationToken));

    public Task<ReportStatusResponse> ReportStatusAsync(ReportStatusRequest request, CancellationToken cancellationToken)
        => CallAsync(async client => await client.ReportStatusAsync(request, deadline: Deadline(CallDeadline), cancellationToken: cancellationToken));

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }

    private async Task<T> CallAsync<T>(Func<AgentService.AgentServiceClient, Task<T>> call)
    {
        var index = Volatile.Read(ref _current);
        try
        {
            return await call(_clients[index]);
        }
        catch (RpcException ex) when (_clients.Length > 1 && ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
        {
            var next = (index + 1) % _clients.Length;
            if (Interlocked.CompareExchange(ref _current, next, index) == index)
            {
                LogMoving(_logger, _servers[index], ex.Status.Detail.Length > 0 ? ex.Status.Detail : ex.StatusCode.ToString(), _servers[next]);
            }
            throw;
        }
    }

    private static SocketsHttpHandler Handler(string serverCa)
    {
        try
        {
            return PinnedCa.CreateHandler(serverCa);
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException)
        {
            throw new ConfigException($"server-ca: {ex.Message}");
        }
    }

    private DateTime Deadline(TimeSpan after) => _time.GetUtcNow().UtcDateTime + after;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Plan server {Server} did not answer ({Reason}); the next call goes to {Next}")]
    private static partial void LogMoving(ILogger logger, Uri server, string reason, Uri next);
}
