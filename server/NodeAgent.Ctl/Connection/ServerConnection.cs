using Grpc.Core;
using Grpc.Net.Client;
using NodeAgent.Contracts.Transport;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Ctl.Connection;

/// <summary>
/// The operator API clients: one channel per plan server address, each sending the admin token on
/// every call and trusting the same CA, joined by <see cref="ReplicaCallInvoker"/> so that a call
/// moves to the next replica when the one it went to does not answer.
/// </summary>
internal sealed class ServerConnection : IDisposable
{
    private readonly GrpcChannel[] _channels;

    /// <param name="error">Where each move to another replica is reported (stderr).</param>
    public ServerConnection(CtlSettings settings, TextWriter error)
    {
        var credentials = CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("authorization", $"Bearer {settings.Token}");
            return Task.CompletedTask;
        });
        _channels = settings.Servers.Select(server => GrpcChannel.ForAddress(server, new GrpcChannelOptions
        {
            HttpHandler = PinnedCa.CreateHandler(settings.CaFile),
            Credentials = ChannelCredentials.Create(
                server.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials),
            UnsafeUseInsecureChannelCallCredentials = server.Scheme == Uri.UriSchemeHttp,
        })).ToArray();
        var invoker = new ReplicaCallInvoker(settings.Servers, _channels.Select(channel => channel.CreateCallInvoker()).ToArray(), error, TimeProvider.System);
        Clusters = new ClusterService.ClusterServiceClient(invoker);
        Snapshots = new SnapshotService.SnapshotServiceClient(invoker);
        Operations = new OperationService.OperationServiceClient(invoker);
    }

    public ClusterService.ClusterServiceClient Clusters { get; }

    public SnapshotService.SnapshotServiceClient Snapshots { get; }

    public OperationService.OperationServiceClient Operations { get; }

    /// <summary>How long one unary call may take on one replica.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Deadline for one unary call; a call that moves to another replica gets <see cref="CallTimeout"/> there again.</summary>
    public static DateTime Deadline => TimeProvider.System.GetUtcNow().UtcDateTime.Add(CallTimeout);

    public void Dispose()
    {
        foreach (var channel in _channels)
        {
            channel.Dispose();
        }
    }
}
