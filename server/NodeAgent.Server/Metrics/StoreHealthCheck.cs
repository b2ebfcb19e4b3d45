using Microsoft.Extensions.Diagnostics.HealthChecks;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Metrics;

/// <summary>Healthy while the store can be read and written (a locked database fails); behind gRPC health and <c>/healthz</c>.</summary>
internal sealed class StoreHealthCheck(IPlanStore store) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await store.CheckWritableAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"the store does not answer: {ex.Message}");
        }
    }
}
