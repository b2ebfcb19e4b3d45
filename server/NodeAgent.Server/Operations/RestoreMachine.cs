using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// The phase machine of a restore, a pure function of the operation, its cluster's nodes and the
/// time: <c>Started</c> (safety snapshot, download, verification: nothing is stopped yet) →
/// <c>Shutdown</c> (every node runs killall; the other K3s/RKE2 servers drop their etcd data) →
/// <c>Restore</c> → <c>RestartCluster</c> (the init node starts and is healthy, then the others)
/// → <c>Finished</c>; or <c>Failed</c> with node, step and message. Each node follows its own
/// instruction list through a phase (<see cref="OperationInstructions.ForNode"/>); a phase ends
/// when every node is through its list, and every phase has a deadline.
/// </summary>
internal static class RestoreMachine
{
    public static OperationRecord Start(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
        => Enter(operation, OperationPhase.Started, cluster, nodes, now, timeouts);

    public static OperationRecord Advance(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
    {
        var failed = operation.State.Nodes.FirstOrDefault(n => n.State == StepState.Failed);
        if (failed is not null)
        {
            return OperationMachine.Fail(operation, now, failed.Node, failed.InstructionId, failed.Message);
        }
        var assigned = AssignWaiting(operation, cluster, nodes, now, timeouts);
        if (assigned.State.Nodes.All(Done))
        {
            return Next(assigned.State.Phase) is { } phase
                ? Enter(assigned, phase, cluster, nodes, now, timeouts)
                : OperationMachine.End(assigned, now, OperationPhase.Finished, null);
        }
        return OperationMachine.TimedOut(assigned, now);
    }

    private static OperationRecord Enter(OperationRecord operation, OperationPhase phase, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
    {
        while (true)
        {
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
            operation = AssignWaiting(operation with { State = next, PhaseDeadline = now + Timeout(phase, timeouts) }, cluster, nodes, now, timeouts);
            if (!operation.State.Nodes.All(Done))
            {
                return operation;
            }
            // Nobody has anything to do in this phase: straight on to the next.
            if (Next(phase) is not { } following)
            {
                return OperationMachine.End(operation, now, OperationPhase.Finished, null);
            }
            phase = following;
        }
    }

    /// <summary>Gives each node that has no instruction yet its first one, once it may start.</summary>
    private static OperationRecord AssignWaiting(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now, OperationTimeouts timeouts)
    {
        var next = operation.State.Clone();
        var changed = false;
        foreach (var step in next.Nodes.Where(s => s.State == StepState.Pending && s.InstructionId.Length == 0))
        {
            var node = nodes.First(n => n.Name == step.Node);
            var instructions = OperationInstructions.ForNode(operation with { State = next }, cluster, node, timeouts);
            if (instructions is null)
            {
                var waiting = $"waiting for the init node '{next.InitNode}' to be healthy";
                if (step.Message == waiting)
                {
                    continue;
                }
                step.Message = waiting;
            }
            else if (instructions.Count == 0)
            {
                step.State = StepState.Succeeded;
                step.Message = "nothing to do in this phase";
            }
            else
            {
                step.InstructionId = instructions[0].Id;
                step.Message = "";
            }
            step.UpdatedAt = Timestamp.FromDateTimeOffset(now);
            changed = true;
        }
        return changed ? operation with { State = next } : operation;
    }

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
