using NodeAgent.Contracts.V1;
using Prometheus;

namespace NodeAgent.Agent.Metrics;

/// <summary>
/// The agent's Prometheus metrics: snapshot saves and uploads (duration, size, result, the last
/// success) and every operation step it ran. Always counted; served only when
/// <c>metrics-listen</c> is set (<see cref="MetricsListener"/>).
/// </summary>
internal sealed class AgentMetrics
{
    private static readonly double[] SecondsBuckets = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

    private readonly Histogram _save;
    private readonly Histogram _upload;
    private readonly Gauge _lastSize;
    private readonly Gauge _lastSuccess;
    private readonly Histogram _step;
    private readonly Gauge _probeHealthy;

    public AgentMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _save = factory.CreateHistogram("nodeagent_agent_snapshot_save_seconds",
            "Snapshot saves on this node (scheduled and instructed), from the first byte asked of etcd to the verified file, by result (succeeded, failed, skipped).",
            new HistogramConfiguration { LabelNames = ["result"], Buckets = SecondsBuckets });
        _upload = factory.CreateHistogram("nodeagent_agent_snapshot_upload_seconds",
            "S3 copies of this node's snapshots, from the start of the save they run alongside to the completed object, by result.",
            new HistogramConfiguration { LabelNames = ["result"], Buckets = SecondsBuckets });
        _lastSize = factory.CreateGauge("nodeagent_agent_snapshot_last_size_bytes", "Size of the last snapshot this node saved.");
        _lastSuccess = factory.CreateGauge("nodeagent_agent_snapshot_last_success_timestamp_seconds",
            "When (unix seconds) this node last saved a snapshot (storage=local) or completed its S3 copy (storage=s3).", "storage");
        _step = factory.CreateHistogram("nodeagent_agent_step_duration_seconds",
            "Operation steps this agent ran (save_snapshot, download_snapshot, restore_snapshot, run_killall, ...), by result.",
            new HistogramConfiguration { LabelNames = ["step", "result"], Buckets = SecondsBuckets });
        _probeHealthy = factory.CreateGauge("nodeagent_agent_probe_healthy",
            "The last check of each probe of this node's plan (etcd-health, supervisor): 1 healthy, 0 failing.", "probe");
    }

    public void ProbeChecked(string probe, bool healthy) => _probeHealthy.WithLabels(probe).Set(healthy ? 1 : 0);

    public CollectorRegistry Registry { get; }

    /// <param name="result">succeeded, failed or skipped.</param>
    public void SaveEnded(string result, DateTimeOffset started, DateTimeOffset ended, long sizeBytes)
    {
        _save.WithLabels(result).Observe((ended - started).TotalSeconds);
        if (result == "succeeded")
        {
            _lastSize.Set(sizeBytes);
            _lastSuccess.WithLabels("local").Set(ended.ToUnixTimeSeconds());
        }
    }

    /// <param name="started">When the save it runs alongside started.</param>
    public void UploadEnded(bool succeeded, DateTimeOffset started, DateTimeOffset ended)
    {
        _upload.WithLabels(succeeded ? "succeeded" : "failed").Observe((ended - started).TotalSeconds);
        if (succeeded)
        {
            _lastSuccess.WithLabels("s3").Set(ended.ToUnixTimeSeconds());
        }
    }

    public void StepEnded(Instruction instruction, bool succeeded, bool skipped, TimeSpan duration)
    {
        var step = instruction.KindName();
        _step.WithLabels(step, skipped ? "skipped" : succeeded ? "succeeded" : "failed").Observe(duration.TotalSeconds);
    }
}
