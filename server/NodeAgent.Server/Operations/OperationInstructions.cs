using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// What each node is told to do in each phase of an operation: an ordered list of typed
/// instructions (the agent runs them in order; the server follows each node through its list).
/// </summary>
internal static class OperationInstructions
{
    public const string SaveSnapshot = "started/save-snapshot";
    public const string DeleteSnapshot = "started/delete-snapshot";
    public const string SteadyState = "restart-cluster/steady-state";

    public const string SafetySnapshot = "started/safety-snapshot";
    public const string DownloadSnapshot = "started/download-snapshot";
    public const string VerifySnapshot = "started/verify-snapshot";
    public const string Killall = "shutdown/killall";
    public const string RemoveEtcdData = "shutdown/remove-etcd-data";
    public const string RestoreSnapshot = "restore/restore-snapshot";
    public const string StartRuntime = "restart-cluster/start-runtime";
    public const string WaitHealthy = "restart-cluster/wait-healthy";

    /// <summary>
    /// The instructions <paramref name="node"/> runs in the operation's current phase: empty when it
    /// has nothing to do there, null while it waits for another node (a restore's other servers
    /// start only once the init node is healthy).
    /// </summary>
    public static IReadOnlyList<Instruction>? ForNode(OperationRecord operation, ClusterRecord cluster, NodeRecord node, OperationTimeouts timeouts)
    {
        var state = operation.State;
        // A node left out when the operation started (unreachable then) gets nothing, not even if it comes back.
        if (state.Nodes.FirstOrDefault(n => n.Node == node.Name) is not { } step || IsLeftOut(step))
        {
            return [];
        }
        return (state.Type, state.Phase) switch
        {
            (OperationType.Snapshot, OperationPhase.Started) =>
            [
                Make(SaveSnapshot, timeouts.SaveInstruction, 2, i => i.SaveSnapshot = new SaveSnapshotInstruction
                {
                    Name = state.Snapshot, Compress = operation.Compress, Upload = cluster.SnapshotSettings.S3 is not null,
                }),
            ],
            (OperationType.DeleteSnapshot, OperationPhase.Started) =>
                [Make(DeleteSnapshot, timeouts.Delete, 2, i => i.DeleteSnapshot = new DeleteSnapshotInstruction { Snapshot = state.Snapshot })],
            (OperationType.Restore, _) when operation.Restore is { } source => ForRestore(operation, source, cluster, node, timeouts),
            _ => [],
        };
    }

    /// <summary>A step skipped before it was given an instruction: the node was unreachable when the operation started.</summary>
    public static bool IsLeftOut(NodeStep step) => step.State == StepState.Skipped && step.InstructionId.Length == 0;

    /// <summary>The id of the first instruction, or "" for none.</summary>
    public static string FirstId(IReadOnlyList<Instruction>? instructions) => instructions is { Count: > 0 } ? instructions[0].Id : "";

    private static List<Instruction>? ForRestore(OperationRecord operation, RestoreSource source, ClusterRecord cluster, NodeRecord node, OperationTimeouts timeouts)
    {
        var state = operation.State;
        var init = node.Name == state.InitNode;
        var etcd = node.Roles.Contains(NodeRole.Etcd);
        // A plain etcd cluster is restored by every member from the same file with the full initial
        // cluster (etcd's multi-member procedure); K3s and RKE2 restore on the init node and the
        // other servers rejoin it from a tombstone.
        var everyMember = cluster.Runtime == Runtime.Etcd && etcd;
        var snapshot = state.Snapshot;
        var list = new List<Instruction>();
        switch (state.Phase)
        {
            case OperationPhase.Started:
                if (init && source.SafetySnapshot)
                {
                    list.Add(Make(SafetySnapshot, timeouts.SaveInstruction, 1, i => i.SaveSnapshot = new SaveSnapshotInstruction
                    {
                        Name = "pre-restore", Upload = cluster.SnapshotSettings.S3 is not null, SkipIfEtcdDown = true,
                    }));
                }
                if (init || everyMember)
                {
                    // With an S3 copy every restoring node downloads it; a node whose local file
                    // already has the sha256 skips the download, one whose file is gone or damaged
                    // gets it back from S3.
                    if (source.HasS3Copy)
                    {
                        list.Add(Make(DownloadSnapshot, timeouts.SaveInstruction, 2, i => i.DownloadSnapshot = new DownloadSnapshotInstruction { Snapshot = snapshot, Sha256 = source.Sha256 }));
                    }
                    list.Add(Make(VerifySnapshot, timeouts.SaveInstruction, 1, i => i.VerifySnapshot = new VerifySnapshotInstruction { Snapshot = snapshot, Sha256 = source.Sha256 }));
                }
                break;
            case OperationPhase.Shutdown:
                list.Add(Make(Killall, timeouts.RestoreStep, 2, i => i.RunKillall = new RunKillallInstruction()));
                if (etcd && !init && cluster.Runtime != Runtime.Etcd)
                {
                    list.Add(Make(RemoveEtcdData, timeouts.RestoreStep, 1, i => i.RemoveEtcdData = new RemoveEtcdDataInstruction { Tombstone = true }));
                }
                break;
            case OperationPhase.Restore:
                if (init || everyMember)
                {
                    list.Add(Make(RestoreSnapshot, timeouts.SaveInstruction, 1, i => i.RestoreSnapshot = new RestoreSnapshotInstruction
                    {
                        Snapshot = snapshot, Sha256 = source.Sha256, InitialCluster = cluster.Runtime == Runtime.Etcd ? source.InitialCluster : "",
                    }));
                }
                break;
            case OperationPhase.RestartCluster:
                var initHealthy = state.Nodes.Any(n => n.Node == state.InitNode && n.State == StepState.Succeeded);
                if (!init && cluster.Runtime != Runtime.Etcd && !initHealthy)
                {
                    return null;
                }
                if (init || etcd || cluster.Runtime != Runtime.Etcd)
                {
                    list.Add(Make(StartRuntime, timeouts.RestoreStep, 2, i => i.StartRuntime = new StartRuntimeInstruction { SkipEtcdWait = !etcd }));
                }
                if (etcd)
                {
                    list.Add(Make(WaitHealthy, timeouts.RestoreStep, 1, i => i.WaitHealthy = new WaitHealthyInstruction()));
                }
                break;
        }
        return list;
    }

    private static Instruction Make(string id, TimeSpan timeout, int attempts, Action<Instruction> kind)
    {
        var instruction = new Instruction { Id = id, Timeout = Duration.FromTimeSpan(timeout), MaxAttempts = attempts };
        kind(instruction);
        return instruction;
    }
}
