using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// A K3s/RKE2 restore's <c>Restore</c> and <c>RestartCluster</c> steps, as Rancher's planner runs
/// them: the init node bootstraps alone (drop-in <c>server: ""</c>) and restores; the other etcd
/// nodes are tombstoned and every other server loses <c>server/tls</c> and <c>server/cred</c>; then
/// the init node starts (pass 1), the others start one at a time pointed at its join URL (pass 2),
/// and finally each server, init node first, loses the drop-in and restarts (pass 3).
/// </summary>
internal static class RuntimeRestoreInstructions
{
    public const string WriteConfigDropIn = "restore/write-config-drop-in";
    public const string WriteRuntimeConfig = "restore/write-runtime-config";
    public const string RemoveEtcdData = "restore/remove-etcd-data";
    public const string RemoveServerCredentials = "restore/remove-server-credentials";
    public const string JoinConfigDropIn = "restart-cluster/write-config-drop-in";
    public const string FinalRemoveConfigDropIn = "restart-cluster/final-remove-config-drop-in";
    public const string FinalRestartRuntime = "restart-cluster/final-restart-runtime";
    public const string FinalWaitHealthy = "restart-cluster/final-wait-healthy";

    /// <summary>An etcd or control-plane node: it runs the K3s/RKE2 server (and so gets the drop-in).</summary>
    public static bool IsServer(NodeRecord node) => node.Roles.Contains(NodeRole.Etcd) || node.Roles.Contains(NodeRole.ControlPlane);

    public static List<Instruction> Restore(OperationRecord operation, RestoreSource source, NodeRecord node, OperationTimeouts timeouts)
    {
        var state = operation.State;
        var list = new List<Instruction>();
        if (node.Name == state.InitNode)
        {
            list.Add(OperationInstructions.Make(WriteConfigDropIn, timeouts.RestoreStep, 2, i => i.WriteConfigDropIn = new WriteConfigDropInInstruction { Server = "" }));
            AddRuntimeConfig(list, state, source, timeouts);
            list.Add(OperationInstructions.RestoreSnapshotStep(source, state.Snapshot, "", timeouts));
            return list;
        }
        if (node.Roles.Contains(NodeRole.Etcd))
        {
            list.Add(OperationInstructions.Make(RemoveEtcdData, timeouts.RestoreStep, 1, i => i.RemoveEtcdData = new RemoveEtcdDataInstruction { Tombstone = true }));
        }
        if (IsServer(node))
        {
            list.Add(OperationInstructions.Make(RemoveServerCredentials, timeouts.RestoreStep, 2, i => i.RemoveServerCredentials = new RemoveServerCredentialsInstruction()));
            AddRuntimeConfig(list, state, source, timeouts);
        }
        return list;
    }

    /// <summary>The node's steps in the current restart pass; null while it waits for its turn.</summary>
    public static List<Instruction>? Restart(OperationRecord operation, RestoreSource source, NodeRecord node, OperationTimeouts timeouts)
    {
        var state = operation.State;
        var pass = operation.Progress?.Pass ?? RestartPass.InitNode;
        var etcd = node.Roles.Contains(NodeRole.Etcd);
        var init = node.Name == state.InitNode;
        var list = new List<Instruction>();
        if (pass == RestartPass.Final)
        {
            if (!init && !IsServer(node))
            {
                return list;
            }
            if (!init && WaitingFor(operation, node.Name) is not null)
            {
                return null;
            }
            list.Add(OperationInstructions.Make(FinalRemoveConfigDropIn, timeouts.RestoreStep, 2, i => i.RemoveConfigDropIn = new RemoveConfigDropInInstruction()));
            list.Add(OperationInstructions.StartRuntimeStep(FinalRestartRuntime, !etcd, restart: true, timeouts));
            if (etcd)
            {
                list.Add(OperationInstructions.WaitHealthyStep(FinalWaitHealthy, timeouts));
            }
            return list;
        }
        if (!init && WaitingFor(operation, node.Name) is not null)
        {
            return null;
        }
        if (!init && IsServer(node))
        {
            list.Add(OperationInstructions.Make(JoinConfigDropIn, timeouts.RestoreStep, 2, i => i.WriteConfigDropIn = new WriteConfigDropInInstruction { Server = source.JoinUrl }));
        }
        list.Add(OperationInstructions.StartRuntimeStep(OperationInstructions.StartRuntime, !etcd, restart: false, timeouts));
        if (etcd)
        {
            list.Add(OperationInstructions.WaitHealthyStep(OperationInstructions.WaitHealthy, timeouts));
        }
        return list;
    }

    /// <summary>
    /// The node whose turn comes before <paramref name="node"/>'s and is not through yet, in the
    /// current pass (pass 1: the init node; pass 2: the join order; pass 3: the init node, then the
    /// servers in the join order); null when it is <paramref name="node"/>'s turn.
    /// </summary>
    public static string? WaitingFor(OperationRecord operation, string node)
    {
        var state = operation.State;
        var progress = operation.Progress ?? RestoreProgress.None;
        if (progress.Pass is not (RestartPass.InitNode or RestartPass.Join or RestartPass.Final))
        {
            return null;
        }
        // Nodes the stored order does not name (an operation from before the order was kept) go last, by name.
        var order = new List<string> { state.InitNode };
        order.AddRange(progress.JoinOrder.Where(n => n != state.InitNode));
        order.AddRange(state.Nodes.Select(n => n.Node).Where(n => !order.Contains(n)).Order(StringComparer.Ordinal));
        foreach (var name in order.TakeWhile(n => n != node))
        {
            if (state.Nodes.FirstOrDefault(s => s.Node == name) is { } step && step.State is not (StepState.Succeeded or StepState.Skipped))
            {
                return name;
            }
        }
        return null;
    }

    private static void AddRuntimeConfig(List<Instruction> list, Operation state, RestoreSource source, OperationTimeouts timeouts)
    {
        if (state.RestoreMode == RestoreMode.All)
        {
            list.Add(OperationInstructions.Make(WriteRuntimeConfig, timeouts.RestoreStep, 2, i => i.WriteRuntimeConfig = new WriteRuntimeConfigInstruction { Configuration = source.ClusterConfiguration }));
        }
    }
}
