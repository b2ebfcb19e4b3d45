using Grpc.Core;
using Grpc.Net.Client;
using NodeAgent.Contracts.Transport;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Ctl.Connection;

/// <summary>The operator API clients over one channel that sends the admin token on every call.</summary>
internal sealed class ServerConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public ServerConnection(CtlSettings settings)
    {
        var credentials = CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("authorization", $"Bearer {settings.Token}");
            return Task.CompletedTask;
        });
        _channel = GrpcChannel.ForAddress(settings.Server, new GrpcChannelOptions
        {
            HttpHandler = PinnedCa.CreateHandler(settings.CaFile),
            Credentials = ChannelCredentials.Create(
                settings.Server.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials),
            UnsafeUseInsecureChannelCallCredentials = settings.Server.Scheme == Uri.UriSchemeHttp,
        });
        Clusters = new ClusterService.ClusterServiceClient(_channel);
        Snapshots = new SnapshotService.SnapshotServiceClient(_channel);
        Operations = new OperationService.OperationServiceClient(_channel);
    }

    public ClusterService.ClusterServiceClient Clusters { get; }

    public SnapshotService.SnapshotServiceClient Snapshots { get; }

    public OperationService.OperationServiceClient Operations { get; }

    /// <summary>How long one unary call may take.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Deadline for one unary call.</summary>
    public static DateTime Deadline => TimeProvider.System.GetUtcNow().UtcDateTime.Add(CallTimeout);

    public void Dispose() => _channel.Dispose();
}
