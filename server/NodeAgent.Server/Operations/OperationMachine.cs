using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// The phase machine of one-time snapshot and delete operations (restores: <see cref="RestoreMachine"/>), as a pure function of the
/// operation, its cluster's nodes and the time: Started → RestartCluster → Finished, or Failed
/// with the node, the step and the reason. Every phase has a deadline.
/// </summary>
internal static class OperationMachine
{
    public static OperationRecord Advance(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes,
        DateTimeOffset now, OperationTimeouts timeouts)
    {
        if (!operation.IsActive)
        {
            return operation;
        }
        var state = operation.State;
        var missing = state.Nodes.FirstOrDefault(step => nodes.All(n => n.Name != step.Node));
        if (missing is not null)
        {
            return Fail(operation, now, missing.Node, missing.InstructionId, $"node '{missing.Node}' was removed from the cluster");
        }
        if (state.Type == OperationType.Restore)
        {
            return RestoreMachine.Advance(operation, cluster, nodes, now, timeouts);
        }
        return state.Phase switch
        {
            OperationPhase.Started => AdvanceStarted(operation, now, timeouts),
            OperationPhase.RestartCluster => AdvanceRestart(operation, cluster, nodes, now),
            _ => Fail(operation, now, "", "", $"phase {state.Phase} is not part of a {state.Type} operation"),
        };
    }

    public static OperationRecord Cancel(OperationRecord operation, DateTimeOffset now, string by)
        => End(operation, now, OperationPhase.Cancelled, new OperationFailure
        {
            Phase = operation.State.Phase,
            Message = $"cancelled by {by}",
        });

    private static OperationRecord AdvanceStarted(OperationRecord operation, DateTimeOffset now, OperationTimeouts timeouts)
    {
        var failed = operation.State.Nodes.FirstOrDefault(n => n.State == StepState.Failed);
        if (failed is not null)
        {
            return Fail(operation, now, failed.Node, failed.InstructionId, failed.Message);
        }
        if (operation.State.Nodes.All(n => n.State is StepState.Succeeded or StepState.Skipped))
        {
            var next = operation.State.Clone();
            next.Phase = OperationPhase.RestartCluster;
            next.Cancellable = true;
            next.UpdatedAt = Timestamp.FromDateTimeOffset(now);
            foreach (var step in next.Nodes.Where(s => !OperationInstructions.IsLeftOut(s)))
            {
                step.InstructionId = OperationInstructions.SteadyState;
                step.State = StepState.Running;
                step.Message = "waiting for the node to apply its steady-state plan";
                step.UpdatedAt = next.UpdatedAt;
            }
            // Back to the steady state: nobody has operation instructions in this phase.
            return operation with { State = next, PhaseDeadline = now + timeouts.RestartCluster, Instructions = [] };
        }
        return TimedOut(operation, now);
    }

    private static OperationRecord AdvanceRestart(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, DateTimeOffset now)
    {
        var next = operation.State.Clone();
        var changed = false;
        foreach (var step in next.Nodes.Where(s => s.State != StepState.Succeeded && !OperationInstructions.IsLeftOut(s)))
        {
            var node = nodes.First(n => n.Name == step.Node);
            if (node.AppliedChecksum == PlanBuilder.Build(cluster, node).Checksum)
            {
                step.State = StepState.Succeeded;
                step.Message = "on its steady-state plan";
                step.UpdatedAt = Timestamp.FromDateTimeOffset(now);
                changed = true;
            }
        }
        var updated = changed ? operation with { State = next } : operation;
        if (next.Nodes.All(s => s.State == StepState.Succeeded || OperationInstructions.IsLeftOut(s)))
        {
            return End(updated, now, OperationPhase.Finished, null);
        }
        return TimedOut(updated, now);
    }

    internal static OperationRecord TimedOut(OperationRecord operation, DateTimeOffset now)
    {
        if (now < operation.PhaseDeadline)
        {
            return operation;
        }
        var late = operation.State.Nodes.First(n => n.State is not (StepState.Succeeded or StepState.Skipped));
        return Fail(operation, now, late.Node, late.InstructionId,
            $"node '{late.Node}' did not finish '{late.InstructionId}' before the phase deadline ({late.State}: {late.Message})");
    }

    internal static OperationRecord Fail(OperationRecord operation, DateTimeOffset now, string node, string instruction, string message)
        => End(operation, now, OperationPhase.Failed, new OperationFailure
        {
            Phase = operation.State.Phase,
            Node = node,
            InstructionId = instruction,
            Message = message,
        });

    internal static OperationRecord End(OperationRecord operation, DateTimeOffset now, OperationPhase phase, OperationFailure? failure)
    {
        var next = operation.State.Clone();
        next.Phase = phase;
        next.Failure = failure;
        next.Cancellable = false;
        next.UpdatedAt = next.FinishedAt = Timestamp.FromDateTimeOffset(now);
        return operation with { State = next };
    }
}
