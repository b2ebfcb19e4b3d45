using NodeAgent.Contracts.V1;
using NodeAgent.Server.Store;
using Prometheus;

namespace NodeAgent.Server.Metrics;

/// <summary>
/// Gauges read from the store when Prometheus scrapes: connected and registered agents, each
/// cluster's active operation and phase, and each node's last successful snapshot (time and
/// size, local and S3). A series that no longer applies (a deleted node, an ended operation) is
/// dropped, not left at its last value.
/// </summary>
internal sealed class StateGauges
{
    private readonly IPlanStore _plans;
    private readonly IOperationStore _operations;
    private readonly ISnapshotCatalogStore _catalog;
    private readonly IConnectedAgents _connections;
    private readonly Gauge _connected;
    private readonly Gauge _registered;
    private readonly Gauge _activePhase;
    private readonly Gauge _lastSuccess;
    private readonly Gauge _lastSize;

    public StateGauges(ServerMetrics metrics, IPlanStore plans, IOperationStore operations, ISnapshotCatalogStore catalog, IConnectedAgents connections)
    {
        _plans = plans;
        _operations = operations;
        _catalog = catalog;
        _connections = connections;
        var factory = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
        _connected = factory.CreateGauge("nodeagent_agents_connected", "Agents holding an open plan long-poll now.", "cluster");
        _registered = factory.CreateGauge("nodeagent_nodes_registered", "Nodes registered with the cluster.", "cluster");
        _activePhase = factory.CreateGauge("nodeagent_operation_active",
            "1 for the cluster's active operation, labelled with its type and current phase.", "cluster", "operation", "type", "phase");
        _lastSuccess = factory.CreateGauge("nodeagent_snapshot_last_success_timestamp_seconds",
            "Creation time (unix seconds) of the newest successful snapshot each node took, per storage (local, s3), from the catalog.",
            "cluster", "node", "storage");
        _lastSize = factory.CreateGauge("nodeagent_snapshot_last_success_size_bytes",
            "Size of that newest successful snapshot.", "cluster", "node", "storage");
        metrics.Registry.AddBeforeCollectCallback(UpdateAsync);
    }

    private async Task UpdateAsync(CancellationToken cancellationToken)
    {
        var connected = _connections.CountByCluster();
        var seen = new Dictionary<Gauge, HashSet<string>>();
        foreach (var cluster in await _plans.ListClustersAsync(cancellationToken))
        {
            Set(seen, _connected, connected.GetValueOrDefault(cluster.Name), cluster.Name);
            Set(seen, _registered, (await _plans.ListNodesAsync(cluster.Name, cancellationToken)).Count, cluster.Name);
            if (await _operations.GetActiveAsync(cluster.Name, cancellationToken) is { } active)
            {
                Set(seen, _activePhase, 1, cluster.Name, active.Id, ServerMetrics.Label(active.State.Type), ServerMetrics.Label(active.State.Phase));
            }
            var newest = (await _catalog.ListAsync(cluster.Name, cancellationToken))
                .Where(s => s.Status == SnapshotStatus.Successful && s.CreatedAt is not null)
                .GroupBy(s => (s.Node, Storage: s.Storage == StorageKind.S3 ? "s3" : "local"))
                .Select(g => g.MaxBy(s => s.CreatedAt.ToDateTimeOffset())!);
            foreach (var snapshot in newest)
            {
                var storage = snapshot.Storage == StorageKind.S3 ? "s3" : "local";
                Set(seen, _lastSuccess, snapshot.CreatedAt.ToDateTimeOffset().ToUnixTimeSeconds(), cluster.Name, snapshot.Node, storage);
                Set(seen, _lastSize, snapshot.Size, cluster.Name, snapshot.Node, storage);
            }
        }
        foreach (var gauge in new[] { _connected, _registered, _activePhase, _lastSuccess, _lastSize })
        {
            var keep = seen.GetValueOrDefault(gauge) ?? [];
            foreach (var labels in gauge.GetAllLabelValues().ToList().Where(l => !keep.Contains(Key(l))))
            {
                gauge.RemoveLabelled(labels);
            }
        }
    }

    private static void Set(Dictionary<Gauge, HashSet<string>> seen, Gauge gauge, double value, params string[] labels)
    {
        gauge.WithLabels(labels).Set(value);
        if (!seen.TryGetValue(gauge, out var keys))
        {
            seen[gauge] = keys = new HashSet<string>(StringComparer.Ordinal);
        }
        keys.Add(Key(labels));
    }

    private static string Key(string[] labels) => string.Join('\u0001', labels);
}
