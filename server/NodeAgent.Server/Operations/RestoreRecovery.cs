using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// A restore that failed in <c>Shutdown</c> (a killall or an install failed, or a node did not
/// finish in time) has destroyed nothing yet: every node starts again on what it had, its runtime
/// version rolled back where an install may have run, all at once (the old members need each
/// other for a quorum), and the operation then ends <c>Failed</c> with the original failure.
/// </summary>
internal static class RestoreRecovery
{
    public const string RollbackRuntimeVersion = "restart-cluster/rollback-runtime-version";

    /// <summary>Whether a failure now starts the recovery pass rather than ending the operation.</summary>
    public static bool Applies(OperationRecord operation)
        => operation.State.Phase == OperationPhase.Shutdown && operation.State.RecoveringFrom is null;

    /// <summary>The operation, set to recover from <paramref name="failure"/> (the caller enters RestartCluster).</summary>
    public static OperationRecord Begin(OperationRecord operation, OperationFailure failure)
    {
        var state = operation.State.Clone();
        state.RecoveringFrom = failure;
        // The install is the last Shutdown step: a node that reached it may have run it.
        var installed = state.Nodes.Where(n => n.InstructionId == OperationInstructions.InstallRuntimeVersion).Select(n => n.Node).ToArray();
        var progress = (operation.Progress ?? RestoreProgress.None) with { Pass = RestartPass.Recovery, Installed = installed };
        return operation with { State = state, Progress = progress };
    }

    public static List<Instruction> Instructions(OperationRecord operation, ClusterRecord cluster, NodeRecord node, OperationTimeouts timeouts)
    {
        var etcd = node.Roles.Contains(NodeRole.Etcd);
        var list = new List<Instruction>();
        if (operation.Progress?.Installed.Contains(node.Name) == true)
        {
            list.Add(OperationInstructions.Make(RollbackRuntimeVersion, timeouts.SaveInstruction, 1, i => i.RollbackRuntimeVersion = new RollbackRuntimeVersionInstruction()));
        }
        if (etcd || cluster.Runtime != Runtime.Etcd)
        {
            list.Add(OperationInstructions.StartRuntimeStep(OperationInstructions.StartRuntime, !etcd, restart: false, timeouts));
        }
        if (etcd)
        {
            list.Add(OperationInstructions.WaitHealthyStep(OperationInstructions.WaitHealthy, timeouts));
        }
        return list;
    }

    /// <summary>How the operation ends once the recovery pass is through (or failed too: then naming both).</summary>
    public static OperationFailure Outcome(OperationFailure original, OperationFailure? recoveryFailure)
        => recoveryFailure is null
            ? original.Clone()
            : new OperationFailure
            {
                Phase = recoveryFailure.Phase,
                Node = recoveryFailure.Node,
                InstructionId = recoveryFailure.InstructionId,
                Message = $"{recoveryFailure.Message}; this was the recovery after {original.Phase} failed on node '{original.Node}' at '{original.InstructionId}': {original.Message}",
            };
}
