using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Metrics;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// Starts, advances and cancels operations. Every change of an operation is stored before it is
/// announced, so a restarted server resumes where it stood. Changes to one cluster's operation
/// are serialized.
/// </summary>
internal sealed partial class OperationEngine(
    IPlanStore plans,
    IOperationStore operations,
    ISnapshotCatalogStore catalog,
    PlanChangeNotifier planChanges,
    OperationChangeNotifier operationChanges,
    OperationTimeouts timeouts,
    ServerMetrics metrics,
    NodeLiveness liveness,
    TimeProvider time,
    ILogger<OperationEngine> logger)
{
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _clusterLocks = new(StringComparer.Ordinal);

    public Task<OperationRecord> StartSnapshotAsync(string cluster, string name, bool? compress, string requestedBy, CancellationToken cancellationToken)
    {
        var prefix = string.IsNullOrEmpty(name) ? "on-demand" : name;
        Names.RequireSnapshotPrefix(prefix, "name");
        return StartAsync(cluster, OperationType.Snapshot, prefix, compress, requestedBy, timeouts.SnapshotSave, cancellationToken);
    }

    public Task<OperationRecord> StartDeleteAsync(string cluster, string snapshot, string requestedBy, CancellationToken cancellationToken)
    {
        Names.RequireSnapshotPrefix(snapshot, "snapshot");
        return StartAsync(cluster, OperationType.DeleteSnapshot, snapshot, null, requestedBy, timeouts.Delete, cancellationToken);
    }

    /// <summary>Checks the request against the catalog and the cluster, then starts the restore's Started phase (node-side checks).</summary>
    public async Task<OperationRecord> StartRestoreAsync(string cluster, string snapshot, RestoreMode mode, bool safetySnapshot, bool allowOtherCluster, string requestedBy, CancellationToken cancellationToken)
    {
        Names.RequireSnapshotPrefix(snapshot, "snapshot");
        var clusterRecord = await plans.GetClusterAsync(cluster, cancellationToken)
            ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
        var nodes = await plans.ListNodesAsync(cluster, cancellationToken);
        mode = mode == RestoreMode.Unspecified ? RestoreMode.None : mode;
        // Every node takes part (killall runs everywhere): one that does not answer would hold the restore until a deadline, half done.
        var unreachable = nodes.Where(liveness.IsUnreachable).OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
        if (unreachable.Count > 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"restore of cluster '{cluster}' refused: {(unreachable.Count == 1 ? "node" : "nodes")} {string.Join(", ", unreachable.Select(liveness.Describe))} "
                + $"{(unreachable.Count == 1 ? "is" : "are")} unreachable (not seen for over {NodeLiveness.Format(liveness.UnreachableAfter)}); "
                + $"bring {(unreachable.Count == 1 ? "it" : "them")} back, or remove {(unreachable.Count == 1 ? "it" : "them")} with 'nodeagentctl node rm NODE --cluster {cluster}'");
        }
        var choice = RestoreSelection.Choose(clusterRecord, nodes, await catalog.ListForRestoreAsync(cluster, snapshot, cancellationToken), snapshot, mode, safetySnapshot, allowOtherCluster,
            n => !liveness.IsUnreachable(n));
        var init = choice.InitNode;
        var source = choice.Source;
        if (choice.Elected)
        {
            nodes = await MoveInitNodeAsync(nodes, init, cancellationToken);
        }
        var now = time.GetUtcNow();
        var state = NewState(cluster, OperationType.Restore, snapshot, requestedBy, now);
        state.RestoreMode = mode;
        state.InitNode = init;
        state.InitNodeReason = choice.Reason;
        // Every node takes part: killall runs everywhere.
        state.Nodes.AddRange(nodes.OrderBy(n => n.Name, StringComparer.Ordinal).Select(n => new NodeStep { Node = n.Name, State = StepState.Pending, UpdatedAt = state.CreatedAt }));
        var operation = RestoreMachine.Start(new OperationRecord(state, now, false, source) { Progress = RestoreMachine.FirstProgress(nodes, init) }, clusterRecord, nodes, now, timeouts);
        operation = await AddAsync(operation, cancellationToken);
        LogStarted(logger, operation.Id, OperationType.Restore, cluster, nodes.Count);
        Announce(operation);
        return operation;
    }

    /// <summary>
    /// Removes a node for good: refused while the cluster's active operation involves it; its local
    /// snapshot copies leave the catalog (its S3 copies stay), then the node (credential and plan) goes.
    /// An init node removed leaves the cluster without one until a restore elects a live etcd node.
    /// </summary>
    public Task DeleteNodeAsync(string cluster, string node, CancellationToken cancellationToken)
        => UnderClusterLockAsync(cluster, async () =>
        {
            _ = await plans.GetClusterAsync(cluster, cancellationToken) ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
            _ = await plans.GetNodeAsync(cluster, node, cancellationToken)
                ?? throw DomainException.NotFound($"node '{node}' is not registered in cluster '{cluster}'");
            if (await operations.GetActiveAsync(cluster, cancellationToken) is { } active && active.State.Nodes.Any(n => n.Node == node))
            {
                throw new DomainException(DomainErrorKind.FailedPrecondition,
                    $"node '{node}' takes part in operation '{active.Id}' ({active.State.Type}, phase {active.State.Phase}); "
                    + (active.State.Cancellable
                        ? $"cancel it first with 'nodeagentctl operation cancel {active.Id}', then remove the node"
                        : "it can no longer be cancelled: wait for it to end (every phase has a deadline), then remove the node"));
            }
            await catalog.ReplaceInventoryAsync(cluster, node, [], includesS3: false, cancellationToken);
            await plans.DeleteNodeAsync(cluster, node, cancellationToken);
            LogNodeDeleted(logger, node, cluster);
            planChanges.Changed(cluster);
            return 0;
        }, cancellationToken);

    public async Task<OperationRecord> GetAsync(string id, CancellationToken cancellationToken)
        => await operations.GetAsync(id, cancellationToken)
            ?? throw DomainException.NotFound($"operation '{id}' does not exist");

    public async Task<IReadOnlyList<OperationRecord>> ListAsync(string cluster, bool activeOnly, CancellationToken cancellationToken)
    {
        _ = await plans.GetClusterAsync(cluster, cancellationToken) ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
        return await operations.ListAsync(cluster, activeOnly, cancellationToken);
    }

    public Task<OperationRecord?> GetActiveAsync(string cluster, CancellationToken cancellationToken)
        => operations.GetActiveAsync(cluster, cancellationToken);

    public async Task<OperationRecord> CancelAsync(string id, string by, CancellationToken cancellationToken)
    {
        var operation = await GetAsync(id, cancellationToken);
        return await UnderClusterLockAsync(operation.Cluster, async () =>
        {
            operation = await GetAsync(id, cancellationToken);
            if (!operation.IsActive)
            {
                throw new DomainException(DomainErrorKind.FailedPrecondition,
                    $"operation '{id}' already ended ({operation.State.Phase}); nothing to cancel");
            }
            if (!operation.State.Cancellable)
            {
                throw new DomainException(DomainErrorKind.FailedPrecondition, operation.State.Type == OperationType.Restore
                    ? $"restore '{id}' can no longer be cancelled: it is in phase {operation.State.Phase}, where etcd data is being replaced on '{operation.State.InitNode}'; stopping now would leave the cluster with no datastore. Wait for it to finish or fail (every phase has a deadline)"
                    : $"operation '{id}' can no longer be cancelled: it is in phase {operation.State.Phase}");
            }
            return await SaveAsync(OperationMachine.Cancel(operation, time.GetUtcNow(), by), operation.State.Phase, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Folds a node's step results into its cluster's active operation (<see cref="StepResultFolding"/>), then advances it.</summary>
    public async Task RecordStepsAsync(string cluster, string node, IReadOnlyList<StepResult> steps, CancellationToken cancellationToken)
    {
        await UnderClusterLockAsync(cluster, async () =>
        {
            var operation = await operations.GetActiveAsync(cluster, cancellationToken);
            if (operation is null)
            {
                return 0;
            }
            var earlier = operation.Instructions is null;
            if (earlier && await plans.GetClusterAsync(cluster, cancellationToken) is { } clusterRecord)
            {
                operation = StoredInstructions.ForAssignedNodes(operation, clusterRecord, await plans.ListNodesAsync(cluster, cancellationToken), timeouts);
            }
            var changed = false;
            IReadOnlyList<(PlannedInstruction Instruction, StepResult Result)> ended = [];
            if (steps.Count > 0)
            {
                (operation, changed, ended) = StepResultFolding.Fold(operation, node, steps, time.GetUtcNow());
            }
            await AdvanceLockedAsync(operation, changed || earlier, cancellationToken);
            // Counted once stored: a fold that lost a race is folded again on the new state.
            foreach (var (instruction, result) in ended)
            {
                metrics.StepEnded(cluster, instruction.Kind, result);
            }
            return 0;
        }, cancellationToken);
    }

    /// <summary>Re-evaluates the cluster's active operation (node liveness, deadlines).</summary>
    public Task AdvanceAsync(string cluster, CancellationToken cancellationToken)
        => UnderClusterLockAsync(cluster, async () =>
        {
            if (await operations.GetActiveAsync(cluster, cancellationToken) is { } operation)
            {
                await AdvanceLockedAsync(operation, mustSave: false, cancellationToken);
            }
            return 0;
        }, cancellationToken);

    /// <summary>Re-evaluates every active operation: at start (resume) and on every deadline check.</summary>
    public async Task AdvanceAllAsync(CancellationToken cancellationToken)
    {
        foreach (var cluster in (await operations.ListActiveAsync(cancellationToken)).Select(o => o.Cluster).Distinct())
        {
            await AdvanceAsync(cluster, cancellationToken);
        }
    }

    private async Task<OperationRecord> StartAsync(string cluster, OperationType type, string snapshot, bool? compress,
        string requestedBy, TimeSpan phaseTimeout, CancellationToken cancellationToken)
    {
        var clusterRecord = await plans.GetClusterAsync(cluster, cancellationToken)
            ?? throw DomainException.NotFound($"cluster '{cluster}' does not exist");
        var etcdNodes = (await plans.ListNodesAsync(cluster, cancellationToken)).Where(n => n.Roles.Contains(NodeRole.Etcd)).ToList();
        if (etcdNodes.Count == 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition, $"cluster '{cluster}' has no registered etcd node");
        }
        // A one-time snapshot goes on without the nodes that do not answer: each is skipped, with why.
        var leftOut = type == OperationType.Snapshot ? etcdNodes.Where(liveness.IsUnreachable).ToList() : [];
        if (leftOut.Count == etcdNodes.Count)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"no etcd node of cluster '{cluster}' is reachable: {string.Join(", ", leftOut.Select(liveness.Describe))}");
        }
        var now = time.GetUtcNow();
        var state = NewState(cluster, type, snapshot, requestedBy, now);
        var instruction = type == OperationType.Snapshot ? OperationInstructions.SaveSnapshot : OperationInstructions.DeleteSnapshot;
        state.Nodes.AddRange(etcdNodes.Select(n => leftOut.Contains(n)
            ? new NodeStep
            {
                Node = n.Name,
                State = StepState.Skipped,
                Message = $"skipped: node unreachable, {liveness.Describe(n)}, over --node-unreachable-after {NodeLiveness.Format(liveness.UnreachableAfter)}",
                UpdatedAt = state.CreatedAt,
            }
            : new NodeStep
            {
                Node = n.Name,
                InstructionId = instruction,
                State = StepState.Pending,
                UpdatedAt = state.CreatedAt,
            }));
        var operation = StoredInstructions.ForAssignedNodes(
            new OperationRecord(state, now + phaseTimeout, compress ?? clusterRecord.SnapshotSettings.Compress), clusterRecord, etcdNodes, timeouts);
        operation = await AddAsync(operation, cancellationToken);
        LogStarted(logger, operation.Id, type, cluster, etcdNodes.Count);
        Announce(operation);
        return operation;
    }

    /// <summary>Makes <paramref name="init"/> the cluster's only init node (a restore elected it in place of a gone or unreachable one).</summary>
    private async Task<IReadOnlyList<NodeRecord>> MoveInitNodeAsync(IReadOnlyList<NodeRecord> nodes, string init, CancellationToken cancellationToken)
    {
        var moved = new List<NodeRecord>();
        foreach (var node in nodes)
        {
            var updated = node with { InitNode = node.Name == init };
            moved.Add(updated != node ? await plans.UpdateNodeAsync(updated, cancellationToken) : node);
        }
        return moved;
    }

    private static Operation NewState(string cluster, OperationType type, string snapshot, string requestedBy, DateTimeOffset now) => new()
    {
        Id = NewId(now),
        Cluster = cluster,
        Type = type,
        Phase = OperationPhase.Started,
        Snapshot = snapshot,
        RequestedBy = requestedBy,
        Cancellable = true,
        CreatedAt = Timestamp.FromDateTimeOffset(now),
        UpdatedAt = Timestamp.FromDateTimeOffset(now),
    };

    /// <summary>Stores a new operation; at most one runs per cluster.</summary>
    private async Task<OperationRecord> AddAsync(OperationRecord operation, CancellationToken cancellationToken)
    {
        var added = await operations.TryAddAsync(operation, cancellationToken);
        if (added is null)
        {
            var running = await operations.GetActiveAsync(operation.Cluster, cancellationToken);
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"cluster '{operation.Cluster}' already runs operation '{running?.Id}' ({running?.State.Type}, phase {running?.State.Phase}); wait for it or cancel it");
        }
        metrics.PhaseEntered(added.State);
        return added;
    }

    /// <summary>Runs the phase machine and stores the result when it (or <paramref name="mustSave"/>) says so.</summary>
    private async Task<OperationRecord> AdvanceLockedAsync(OperationRecord operation, bool mustSave, CancellationToken cancellationToken)
    {
        var cluster = await plans.GetClusterAsync(operation.Cluster, cancellationToken);
        if (cluster is null)
        {
            return operation;
        }
        var nodes = await plans.ListNodesAsync(operation.Cluster, cancellationToken);
        // Stored by a version that kept no instruction lists: the current phase's are computed once, here, and stored.
        var current = operation.Instructions is null ? StoredInstructions.ForAssignedNodes(operation, cluster, nodes, timeouts) : operation;
        var next = OperationMachine.Advance(current, cluster, nodes, time.GetUtcNow(), timeouts);
        if (next.State.Type == OperationType.Restore && operation.State.Phase == OperationPhase.Started && next.State.Phase != OperationPhase.Started
            && OperationPhases.IsTerminal(next.State.Phase) is false)
        {
            // The checks passed and nodes are about to stop: the cluster now wants what the mode takes from the snapshot.
            await ReconcileClusterAsync(cluster, next, cancellationToken);
        }
        return next == operation && !mustSave ? operation : await SaveAsync(next, operation.State.Phase, cancellationToken);
    }

    private async Task ReconcileClusterAsync(ClusterRecord cluster, OperationRecord restore, CancellationToken cancellationToken)
    {
        var source = restore.Restore!;
        var updated = restore.State.RestoreMode switch
        {
            RestoreMode.KubernetesVersion => cluster with { KubernetesVersion = source.KubernetesVersion, UpdatedAt = time.GetUtcNow() },
            RestoreMode.All => cluster with
            {
                KubernetesVersion = source.KubernetesVersion,
                ClusterConfiguration = source.ClusterConfiguration,
                UpdatedAt = time.GetUtcNow(),
            },
            _ => cluster,
        };
        if (updated != cluster)
        {
            await plans.UpdateClusterAsync(updated, cancellationToken);
            LogReconciled(logger, restore.Id, cluster.Name, restore.State.RestoreMode, updated.KubernetesVersion);
        }
    }

    private async Task<OperationRecord> SaveAsync(OperationRecord operation, OperationPhase? before, CancellationToken cancellationToken)
    {
        operation = await operations.UpdateAsync(operation, cancellationToken);
        if (operation.State.Phase != before)
        {
            metrics.PhaseEntered(operation.State);
        }
        if (operation.State.Failure is { } failure)
        {
            LogEnded(logger, operation.Id, operation.State.Phase, failure.Node, failure.InstructionId, failure.Message);
        }
        else
        {
            LogPhase(logger, operation.Id, operation.State.Phase);
        }
        Announce(operation);
        return operation;
    }

    private void Announce(OperationRecord operation)
    {
        planChanges.Changed(operation.Cluster);
        operationChanges.Changed(operation.Id);
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the cluster's changes serialized in this process. Another
    /// replica may still write first: every action reads the state it changes, so one that loses the
    /// race (<see cref="StoreConflictException"/>) runs again on the new state, a few times.
    /// </summary>
    private async Task<T> UnderClusterLockAsync<T>(string cluster, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        var gate = _clusterLocks.GetOrAdd(cluster, static _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    return await action();
                }
                catch (StoreConflictException ex) when (attempt < StoreConflictException.Attempts)
                {
                    LogConflictRetried(logger, cluster, attempt, ex.Message);
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private static string NewId(DateTimeOffset now)
        => string.Create(CultureInfo.InvariantCulture, $"op-{now.ToUnixTimeMilliseconds():x}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}");

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Operation {OperationId} ({Type}) started on cluster {Cluster} with {NodeCount} etcd nodes")]
    private static partial void LogStarted(ILogger logger, string operationId, OperationType type, string cluster, int nodeCount);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Operation {OperationId} is now {Phase}")]
    private static partial void LogPhase(ILogger logger, string operationId, OperationPhase phase);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Restore {OperationId}: cluster {Cluster} reconciled from the snapshot ({Mode}): Kubernetes {Version}")]
    private static partial void LogReconciled(ILogger logger, string operationId, string cluster, RestoreMode mode, string version);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Node {Node} removed from cluster {Cluster}: credential revoked, plan gone, local snapshot copies out of the catalog")]
    private static partial void LogNodeDeleted(ILogger logger, string node, string cluster);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Debug, Message = "Cluster {Cluster}: change lost a race (attempt {Attempt}), redone on the new state: {Reason}")]
    private static partial void LogConflictRetried(ILogger logger, string cluster, int attempt, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Warning, Message = "Operation {OperationId} ended {Phase}: node {Node}, step {Step}: {Reason}")]
    private static partial void LogEnded(ILogger logger, string operationId, OperationPhase phase, string node, string step, string reason);
}
