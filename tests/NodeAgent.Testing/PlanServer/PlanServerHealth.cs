using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace NodeAgent.Testing.PlanServer;

/// <summary>Asks a plan server's gRPC health service whether it is serving.</summary>
public static class PlanServerHealth
{
    public static async Task<bool> IsServingAsync(GrpcChannel channel, CancellationToken cancellationToken)
    {
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(
                new HealthCheckRequest(),
                deadline: DateTime.UtcNow.AddSeconds(2),
                cancellationToken: cancellationToken);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (RpcException)
        {
            return false;
        }
    }
}
