using NodeAgent.Server.Metrics;
using Prometheus;

namespace NodeAgent.Server.Catalog;

/// <summary>The plan server's own S3 listings in its Prometheus registry: whether the last one of each cluster worked, when one last did, and failures.</summary>
internal sealed class S3ListingMetrics
{
    private readonly Gauge _ok;
    private readonly Gauge _lastSuccess;
    private readonly Counter _failures;

    public S3ListingMetrics(ServerMetrics metrics)
    {
        var factory = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
        _ok = factory.CreateGauge("nodeagent_s3_listing_ok",
            "1 when the plan server's last listing of the cluster's S3 folder worked, 0 when it failed.", "cluster");
        _lastSuccess = factory.CreateGauge("nodeagent_s3_listing_last_success_timestamp_seconds",
            "When the plan server last listed the cluster's S3 folder successfully.", "cluster");
        _failures = factory.CreateCounter("nodeagent_s3_listing_failures_total",
            "The plan server's listings of the cluster's S3 folder that failed.", "cluster");
    }

    public void Succeeded(string cluster, DateTimeOffset at)
    {
        _ok.WithLabels(cluster).Set(1);
        _lastSuccess.WithLabels(cluster).Set(at.ToUnixTimeMilliseconds() / 1000.0);
    }

    public void Failed(string cluster)
    {
        _ok.WithLabels(cluster).Set(0);
        _failures.WithLabels(cluster).Inc();
    }
}
