using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// The phase machine of a restore, a pure function of the operation, its cluster's nodes and the
/// time: <c>Started</c> (safety snapshot, download, verification, runtime version check: nothing
/// is stopped yet) → <c>Shutdown</c> (every node runs killall [and installs the snapshot's runtime
/// version]) → <c>Restore</c> (the init node restores; the other K3s/RKE2 servers drop their etcd
/// data and credentials) → <c>RestartCluster</c> (K3s/RKE2 in three passes, see
/// <see cref="RuntimeRestoreInstructions"/>) → <c>Finished</c>; or <c>Failed</c> with node, step and
/// message. A failure in <c>Shutdown</c> first starts every node again (<see cref="RestoreRecovery"/>).
/// Each node follows its own instruction list through a phase, computed when its part begins and
/// stored with the operation (<see cref="StoredInstructions"/>);
/// a phase (or pass) ends when every node is through its list, and every phase has a deadline.
/// </summary>
internal static class RestoreMachine
{
    public static OperationRecord Start(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
        => Enter(operation, OperationPhase.Started, cluster, nodes, now, timeouts);

    /// <summary>A new restore's progress: the other nodes' join order (etcd nodes by name, then control-plane-only nodes, then workers).</summary>
    public static RestoreProgress FirstProgress(IEnumerable<NodeRecord> nodes, string initNode)
        => new(RestartPass.NotStarted,
            nodes.Where(n => n.Name != initNode)
                .OrderBy(n => n.Roles.Contains(NodeRole.Etcd) ? 0 : n.Roles.Contains(NodeRole.ControlPlane) ? 1 : 2)
                .ThenBy(n => n.Name, StringComparer.Ordinal)
                .Select(n => n.Name)
                .ToArray(),
            []);

    public static OperationRecord Advance(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
    {
        var failed = operation.State.Nodes.FirstOrDefault(n => n.State == StepState.Failed);
        if (failed is not null)
        {
            return Fail(operation, new OperationFailure
            {
                Phase = operation.State.Phase, Node = failed.Node, InstructionId = failed.InstructionId, Message = failed.Message,
            }, cluster, nodes, now, timeouts);
        }
        var assigned = AssignWaiting(operation, cluster, nodes, now, timeouts);
        if (assigned.Progress is { Pass: RestartPass.InitNode } progress && !assigned.State.Nodes.All(Done)
            && assigned.State.Nodes.FirstOrDefault(n => n.Node == assigned.State.InitNode) is { } init && Done(init))
        {
            // Pass 1 is through: the others start, one at a time.
            assigned = AssignWaiting(assigned with { Progress = progress with { Pass = RestartPass.Join } }, cluster, nodes, now, timeouts);
        }
        if (assigned.State.Nodes.All(Done))
        {
            if (assigned.State.RecoveringFrom is { } original)
            {
                return OperationMachine.End(assigned, now, OperationPhase.Failed, RestoreRecovery.Outcome(original, null));
            }
            if (assigned.State.Phase == OperationPhase.RestartCluster && assigned.Progress is { Pass: RestartPass.InitNode or RestartPass.Join } joined)
            {
                return Enter(assigned with { Progress = joined with { Pass = RestartPass.Final } }, OperationPhase.RestartCluster, cluster, nodes, now, timeouts);
            }
            return Next(assigned.State.Phase) is { } phase
                ? Enter(assigned, phase, cluster, nodes, now, timeouts)
                : OperationMachine.End(assigned, now, OperationPhase.Finished, null);
        }
        var timedOut = OperationMachine.TimedOut(assigned, now);
        return timedOut.State.Failure is { } late ? Fail(assigned, late, cluster, nodes, now, timeouts) : timedOut;
    }

    /// <summary>
    /// A step failed or a deadline passed: in Shutdown the nodes start again first (nothing is
    /// destroyed yet); a failure of that recovery ends the operation naming both; otherwise it ends here.
    /// </summary>
    private static OperationRecord Fail(OperationRecord operation, OperationFailure failure, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
    {
        if (operation.State.RecoveringFrom is { } original)
        {
            return OperationMachine.End(operation, now, OperationPhase.Failed, RestoreRecovery.Outcome(original, failure));
        }
        return RestoreRecovery.Applies(operation)
            ? Enter(RestoreRecovery.Begin(operation, failure), OperationPhase.RestartCluster, cluster, nodes, now, timeouts)
            : OperationMachine.End(operation, now, OperationPhase.Failed, failure);
    }

    private static OperationRecord Enter(OperationRecord operation, OperationPhase phase, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
    {
        while (true)
        {
            if (phase == OperationPhase.RestartCluster && (operation.Progress ?? RestoreProgress.None) is { Pass: RestartPass.NotStarted } progress)
            {
                operation = operation with { Progress = progress with { Pass = cluster.Runtime == Runtime.Etcd ? RestartPass.AllMembers : RestartPass.InitNode } };
            }
            var next = operation.State.Clone();
            next.Phase = phase;
            // Cancel stops a restore only until it begins to replace etcd data.
            next.Cancellable = phase is OperationPhase.Started or OperationPhase.Shutdown;
            next.UpdatedAt = Timestamp.FromDateTimeOffset(now);
            foreach (var step in next.Nodes)
            {
                step.InstructionId = "";
                step.State = StepState.Pending;
                step.Message = "";
                step.Progress = null;
                step.UpdatedAt = next.UpdatedAt;
            }
            operation = AssignWaiting(operation with { State = next, PhaseDeadline = now + Timeout(phase, timeouts), Instructions = [] }, cluster, nodes, now, timeouts);
            if (!operation.State.Nodes.All(Done))
            {
                return operation;
            }
            // Nobody has anything to do in this phase: straight on to the next.
            if (Next(phase) is not { } following || operation.State.RecoveringFrom is not null)
            {
                return operation.State.RecoveringFrom is { } original
                    ? OperationMachine.End(operation, now, OperationPhase.Failed, RestoreRecovery.Outcome(original, null))
                    : OperationMachine.End(operation, now, OperationPhase.Finished, null);
            }
            phase = following;
        }
    }

    /// <summary>Gives each node that has no instruction yet its list (stored now, once) and its first instruction, once it may start.</summary>
    private static OperationRecord AssignWaiting(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
    {
        var next = operation.State.Clone();
        var stored = operation;
        var changed = false;
        foreach (var step in next.Nodes.Where(s => s.State == StepState.Pending && s.InstructionId.Length == 0))
        {
            var node = nodes.First(n => n.Name == step.Node);
            var instructions = OperationInstructions.ForNode(stored with { State = next }, cluster, node, timeouts);
            if (instructions is null)
            {
                var waiting = Waiting(operation with { State = next }, step.Node);
                if (step.Message == waiting)
                {
                    continue;
                }
                step.Message = waiting;
            }
            else
            {
                stored = StoredInstructions.Store(stored, node.Name, instructions);
                if (instructions.Count == 0)
                {
                    step.State = StepState.Succeeded;
                    step.Message = "nothing to do in this phase";
                }
                else
                {
                    step.InstructionId = instructions[0].Id;
                    step.Message = "";
                }
            }
            step.UpdatedAt = Timestamp.FromDateTimeOffset(now);
            changed = true;
        }
        return changed ? stored with { State = next } : operation;
    }

    private static string Waiting(OperationRecord operation, string node)
        => operation.State.Phase == OperationPhase.Started
            ? $"waiting for the init node '{operation.State.InitNode}' to compute the snapshot's sha256 (none was recorded), which this node's copy must then match"
            : RuntimeRestoreInstructions.WaitingFor(operation, node) is { } before
                ? before == operation.State.InitNode
                    ? $"waiting for the init node '{before}' to be healthy"
                    : $"waiting for '{before}' first: the nodes start one at a time"
                : "waiting for its turn";

    private static bool Done(NodeStep step) => step.State is StepState.Succeeded or StepState.Skipped;

    private static OperationPhase? Next(OperationPhase phase) => phase switch
    {
        OperationPhase.Started => OperationPhase.Shutdown,
        OperationPhase.Shutdown => OperationPhase.Restore,
        OperationPhase.Restore => OperationPhase.RestartCluster,
        _ => null,
    };

    private static TimeSpan Timeout(OperationPhase phase, OperationTimeouts timeouts) => phase switch
    {
        OperationPhase.Started => timeouts.RestoreChecks,
        OperationPhase.Shutdown => timeouts.RestoreShutdown,
        OperationPhase.Restore => timeouts.Restore,
        _ => timeouts.RestoreRestart,
    };
}
