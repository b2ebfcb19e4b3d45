using Microsoft.Extensions.Diagnostics.HealthChecks;
using Prometheus;

namespace NodeAgent.Server.Metrics;

/// <summary>
/// <c>GET /metrics</c> (Prometheus text format) and <c>GET /healthz</c> on the metrics listener
/// only (plain HTTP/1.1, as Prometheus scrapes); the gRPC listener does not answer them.
/// </summary>
internal static class MetricsEndpoints
{
    public static IServiceCollection AddServerMetrics(this IServiceCollection services)
    {
        services.AddSingleton<ServerMetrics>();
        services.AddSingleton<StateGauges>();
        // The gRPC health service and /healthz answer from this check at request time (no cache,
        // so it is SERVING from the first request on, not after the publisher's first delay).
        services.AddGrpcHealthChecks(o => o.UseHealthChecksCache = false).AddCheck<StoreHealthCheck>("store");
        return services;
    }

    public static WebApplication MapMetricsAndHealth(this WebApplication app, int port)
    {
        var registry = app.Services.GetRequiredService<ServerMetrics>().Registry;
        _ = app.Services.GetRequiredService<StateGauges>();
        app.MapGet("/metrics", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        }).AddEndpointFilter(OnPort(port));
        app.MapGet("/healthz", async (HealthCheckService health, HttpContext context) =>
        {
            var report = await health.CheckHealthAsync(context.RequestAborted);
            var healthy = report.Status == HealthStatus.Healthy;
            var reasons = string.Join("; ", report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy)
                .Select(e => $"{e.Key}: {e.Value.Description}"));
            return Results.Text(healthy ? "ok\n" : $"unhealthy: {reasons}\n", "text/plain", statusCode: healthy ? 200 : 503);
        }).AddEndpointFilter(OnPort(port));
        return app;
    }

    private static Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> OnPort(int port)
        => (context, next) => context.HttpContext.Connection.LocalPort == port ? next(context) : ValueTask.FromResult<object?>(Results.NotFound());
}
