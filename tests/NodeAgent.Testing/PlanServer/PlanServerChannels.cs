using Grpc.Core;
using Grpc.Net.Client;

namespace NodeAgent.Testing.PlanServer;

/// <summary>gRPC channels to a test plan server, optionally carrying a bearer token on every call.</summary>
public static class PlanServerChannels
{
    public static GrpcChannel Create(Uri address, string? bearerToken = null)
    {
        if (bearerToken is null)
        {
            return GrpcChannel.ForAddress(address);
        }
        var credentials = CallCredentials.FromInterceptor((_, metadata) =>
        {
            metadata.Add("authorization", $"Bearer {bearerToken}");
            return Task.CompletedTask;
        });
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, credentials),
            // Loopback test servers speak HTTP/2 without TLS.
            UnsafeUseInsecureChannelCallCredentials = true,
        });
    }

    /// <summary>The admin token a plan server wrote into its data dir on first start.</summary>
    public static string ReadAdminToken(string dataDir) => File.ReadAllText(Path.Combine(dataDir, "admin-token")).Trim();
}
