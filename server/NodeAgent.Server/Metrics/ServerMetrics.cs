using NodeAgent.Contracts.V1;
using Prometheus;

namespace NodeAgent.Server.Metrics;

/// <summary>
/// The plan server's Prometheus metrics, counted as things happen: operation phases and results,
/// step durations reported by agents, plan delivery latency. Gauges read from the store at scrape
/// time live in <see cref="StateGauges"/>. One registry per server, so servers in one test process
/// do not mix their numbers.
/// </summary>
internal sealed class ServerMetrics
{
    private static readonly double[] SecondsBuckets = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

    private readonly Counter _phaseEntered;
    private readonly Counter _operationsEnded;
    private readonly Histogram _operationDuration;
    private readonly Histogram _stepDuration;
    private readonly Histogram _planDelivery;

    public ServerMetrics()
    {
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);
        _phaseEntered = factory.CreateCounter("nodeagent_operation_phase_entered_total",
            "Operations that entered a phase, by operation type and phase.", "type", "phase");
        _operationsEnded = factory.CreateCounter("nodeagent_operations_ended_total",
            "Operations that ended, by type and result (finished, failed, cancelled).", "cluster", "type", "result");
        _operationDuration = factory.CreateHistogram("nodeagent_operation_duration_seconds",
            "Time from an operation's start to its end, by type and result.",
            new HistogramConfiguration { LabelNames = ["type", "result"], Buckets = SecondsBuckets });
        _stepDuration = factory.CreateHistogram("nodeagent_step_duration_seconds",
            "Duration of the steps agents ran for operations (save_snapshot, download_snapshot, restore_snapshot, ...), as the agent measured it, by result.",
            new HistogramConfiguration { LabelNames = ["cluster", "step", "result"], Buckets = SecondsBuckets });
        _planDelivery = factory.CreateHistogram("nodeagent_plan_delivery_seconds",
            "Time from a change of a node's plan to the waiting agent's GetPlan answering with it (the answer's trip over the network not included).",
            new HistogramConfiguration { Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
    }

    public CollectorRegistry Registry { get; }

    public void PhaseEntered(Operation operation)
    {
        _phaseEntered.WithLabels(Label(operation.Type), Label(operation.Phase)).Inc();
        if (operation.Phase is OperationPhase.Finished or OperationPhase.Failed or OperationPhase.Cancelled)
        {
            var result = Label(operation.Phase);
            _operationsEnded.WithLabels(operation.Cluster, Label(operation.Type), result).Inc();
            if (operation.CreatedAt is { } created && operation.FinishedAt is { } finished)
            {
                _operationDuration.WithLabels(Label(operation.Type), result)
                    .Observe(Math.Max(0, (finished.ToDateTimeOffset() - created.ToDateTimeOffset()).TotalSeconds));
            }
        }
    }

    /// <summary>A step reached its end on a node (reported once per step).</summary>
    /// <param name="step">The instruction's kind as the contract names it (save_snapshot, ...).</param>
    public void StepEnded(string cluster, string step, StepResult result)
    {
        _stepDuration.WithLabels(cluster, step, Label(result.State)).Observe(result.Duration?.ToTimeSpan().TotalSeconds ?? 0);
    }

    public void PlanDelivered(TimeSpan sinceChange) => _planDelivery.Observe(Math.Max(0, sinceChange.TotalSeconds));

    public static string Label(OperationType type) => type switch
    {
        OperationType.Snapshot => "snapshot",
        OperationType.Restore => "restore",
        OperationType.DeleteSnapshot => "delete_snapshot",
        _ => "unspecified",
    };

    public static string Label(OperationPhase phase) => phase switch
    {
        OperationPhase.Started => "started",
        OperationPhase.Shutdown => "shutdown",
        OperationPhase.Restore => "restore",
        OperationPhase.RestartCluster => "restart_cluster",
        OperationPhase.Finished => "finished",
        OperationPhase.Failed => "failed",
        OperationPhase.Cancelled => "cancelled",
        _ => "unspecified",
    };

    private static string Label(StepState state) => state switch
    {
        StepState.Succeeded => "succeeded",
        StepState.Failed => "failed",
        StepState.Skipped => "skipped",
        StepState.Running => "running",
        StepState.Pending => "pending",
        _ => "unspecified",
    };
}
