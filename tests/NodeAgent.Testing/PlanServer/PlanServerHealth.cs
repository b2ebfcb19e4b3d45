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
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(TimeSpan.FromSeconds(2));
            var reply = await new Health.HealthClient(channel).CheckAsync(
                new HealthCheckRequest(), cancellationToken: deadline.Token);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (RpcException)
        {
            return false;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
