using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Tests;

public sealed class OperationMachineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly OperationTimeouts Timeouts = new();
    private static readonly ClusterRecord Cluster = new("prod", Runtime.K3S, "v1.30.4+k3s1", "", new SnapshotSettings { Cron = "0 */5 * * *", Retention = 5, RecurringEnabled = true }, "", "t", T0, T0);

    [Fact]
    public void Advance_AllNodesSaved_MovesToRestartClusterWithNewDeadline()
    {
        var op = Snapshot(("a", StepState.Succeeded), ("b", StepState.Skipped));

        var next = OperationMachine.Advance(op, Cluster, Nodes("a", "b"), T0.AddMinutes(1), Timeouts);

        Assert.Equal(OperationPhase.RestartCluster, next.State.Phase);
        Assert.Equal(T0.AddMinutes(1) + Timeouts.RestartCluster, next.PhaseDeadline);
        Assert.All(next.State.Nodes, n => Assert.Equal(OperationInstructions.SteadyState, n.InstructionId));
    }

    [Fact]
    public void Advance_OneNodeFailed_FailsWithNodeStepAndMessage()
    {
        var op = Snapshot(("a", StepState.Succeeded), ("b", StepState.Failed));
        op.State.Nodes[1].Message = "etcd unreachable";

        var next = OperationMachine.Advance(op, Cluster, Nodes("a", "b"), T0.AddMinutes(1), Timeouts);

        Assert.Equal(OperationPhase.Failed, next.State.Phase);
        Assert.Equal("b", next.State.Failure.Node);
        Assert.Equal(OperationInstructions.SaveSnapshot, next.State.Failure.InstructionId);
        Assert.Equal("etcd unreachable", next.State.Failure.Message);
        Assert.Equal(OperationPhase.Started, next.State.Failure.Phase);
        Assert.False(next.IsActive);
    }

    [Fact]
    public void Advance_DeadlinePassedWithNodeStillRunning_FailsNamingTheNode()
    {
        var op = Snapshot(("a", StepState.Succeeded), ("b", StepState.Running));

        var before = OperationMachine.Advance(op, Cluster, Nodes("a", "b"), op.PhaseDeadline.AddSeconds(-1), Timeouts);
        var after = OperationMachine.Advance(op, Cluster, Nodes("a", "b"), op.PhaseDeadline, Timeouts);

        Assert.Equal(OperationPhase.Started, before.State.Phase);
        Assert.Equal(OperationPhase.Failed, after.State.Phase);
        Assert.Equal("b", after.State.Failure.Node);
        Assert.Contains("did not finish", after.State.Failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Advance_RestartCluster_FinishesWhenEveryNodeAppliedItsSteadyPlan()
    {
        var restarted = OperationMachine.Advance(Snapshot(("a", StepState.Succeeded), ("b", StepState.Succeeded)), Cluster, Nodes("a", "b"), T0, Timeouts);
        var steadyA = PlanBuilder.Build(Cluster, Nodes("a")[0]).Checksum;
        var steadyB = PlanBuilder.Build(Cluster, Nodes("b")[0]).Checksum;

        var half = OperationMachine.Advance(restarted, Cluster, [Nodes("a")[0] with { AppliedChecksum = steadyA }, Nodes("b")[0]], T0.AddSeconds(1), Timeouts);
        var done = OperationMachine.Advance(half, Cluster, [Nodes("a")[0] with { AppliedChecksum = steadyA }, Nodes("b")[0] with { AppliedChecksum = steadyB }], T0.AddSeconds(2), Timeouts);

        Assert.Equal(OperationPhase.RestartCluster, half.State.Phase);
        Assert.Equal(StepState.Succeeded, half.State.Nodes[0].State);
        Assert.Equal(OperationPhase.Finished, done.State.Phase);
        Assert.Null(done.State.Failure);
        Assert.NotNull(done.State.FinishedAt);
    }

    [Fact]
    public void Advance_NodeRemoved_Fails()
    {
        var next = OperationMachine.Advance(Snapshot(("a", StepState.Running), ("b", StepState.Running)), Cluster, Nodes("a"), T0, Timeouts);

        Assert.Equal(OperationPhase.Failed, next.State.Phase);
        Assert.Contains("'b' was removed", next.State.Failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cancel_Active_EndsCancelledWithWho()
    {
        var next = OperationMachine.Cancel(Snapshot(("a", StepState.Running)), T0, "admin");

        Assert.Equal(OperationPhase.Cancelled, next.State.Phase);
        Assert.Equal("cancelled by admin", next.State.Failure.Message);
        Assert.False(next.IsActive);
    }

    [Fact]
    public void PlanBuilder_ActiveSnapshot_AddsSaveInstructionOnlyForInvolvedNodes()
    {
        var op = Snapshot(("a", StepState.Pending));

        var planA = PlanBuilder.Build(Cluster, Nodes("a")[0], op);
        var planC = PlanBuilder.Build(Cluster, Nodes("c")[0], op);
        var steadyA = PlanBuilder.Build(Cluster, Nodes("a")[0]);

        Assert.Equal("on-demand", planA.Operation.Instructions.Single().SaveSnapshot.Name);
        Assert.True(planA.Operation.Instructions.Single().MaxAttempts >= 1);
        Assert.NotNull(planA.Operation.Instructions.Single().Timeout);
        Assert.Null(planC.Operation);
        Assert.Equal(steadyA.SteadyState, planA.SteadyState);
        Assert.NotEqual(steadyA.Checksum, planA.Checksum);
    }

    private static OperationRecord Snapshot(params (string Node, StepState State)[] steps)
    {
        var state = new Operation
        {
            Id = "op-1",
            Cluster = "prod",
            Type = OperationType.Snapshot,
            Phase = OperationPhase.Started,
            Snapshot = "on-demand",
            Cancellable = true,
            CreatedAt = Timestamp.FromDateTimeOffset(T0),
        };
        state.Nodes.AddRange(steps.Select(s => new NodeStep { Node = s.Node, InstructionId = OperationInstructions.SaveSnapshot, State = s.State }));
        // As the engine starts one: each node's list stored with the operation.
        return StoredInstructions.ForAssignedNodes(new OperationRecord(state, T0 + Timeouts.SnapshotSave, Compress: false), Cluster, Nodes(steps.Select(s => s.Node).ToArray()), Timeouts);
    }

    private static List<NodeRecord> Nodes(params string[] names)
        => names.Select(n => new NodeRecord("prod", n, [NodeRole.Etcd], n == "a", "h-" + n, T0, T0, "", "0.1.0")).ToList();
}
