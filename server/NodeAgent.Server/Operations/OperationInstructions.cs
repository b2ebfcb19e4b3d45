using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
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
    public const string CheckRuntimeVersion = "started/check-runtime-version";
    public const string Killall = "shutdown/killall";
    public const string InstallRuntimeVersion = "shutdown/install-runtime-version";
    public const string RestoreSnapshot = "restore/restore-snapshot";
    public const string StartRuntime = "restart-cluster/start-runtime";
    public const string WaitHealthy = "restart-cluster/wait-healthy";

    /// <summary>
    /// The instructions <paramref name="node"/> runs in the operation's current phase, computed once
    /// when its part of the phase begins and then stored (<see cref="StoredInstructions"/>): empty when it
    /// has nothing to do there, null while it waits for another node (a K3s/RKE2 restore starts one
    /// node at a time; a plain etcd member waits for the sha256 the init node computes when none was recorded).
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

    private static List<Instruction>? ForRestore(OperationRecord operation, RestoreSource source, ClusterRecord cluster, NodeRecord node, OperationTimeouts timeouts)
    {
        var state = operation.State;
        var init = node.Name == state.InitNode;
        var etcd = node.Roles.Contains(NodeRole.Etcd);
        // A plain etcd cluster is restored by every member from the same file with the full initial
        // cluster (etcd's multi-member procedure); K3s and RKE2 restore on the init node and the
        // other servers rejoin it, as Rancher's planner does (RuntimeRestoreInstructions).
        var everyMember = cluster.Runtime == Runtime.Etcd && etcd;
        // Restore modes kubernetesVersion and all put the snapshot's runtime version on every K3s/RKE2 node.
        var version = cluster.Runtime != Runtime.Etcd && state.RestoreMode is RestoreMode.KubernetesVersion or RestoreMode.All ? source.KubernetesVersion : "";
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
                if (everyMember && !init && source.Sha256.Length == 0)
                {
                    // No recorded sha256 (no sidecar): the init node's computed one is the one every other member must match.
                    return null;
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
                if (version.Length > 0)
                {
                    list.Add(Make(CheckRuntimeVersion, timeouts.RestoreStep, 2, i => i.CheckRuntimeVersion = new CheckRuntimeVersionInstruction { Version = version }));
                }
                break;
            case OperationPhase.Shutdown:
                list.Add(Make(Killall, timeouts.RestoreStep, 2, i => i.RunKillall = new RunKillallInstruction()));
                if (version.Length > 0)
                {
                    list.Add(Make(InstallRuntimeVersion, timeouts.SaveInstruction, 1, i => i.InstallRuntimeVersion = new InstallRuntimeVersionInstruction { Version = version }));
                }
                break;
            case OperationPhase.Restore when cluster.Runtime != Runtime.Etcd:
                return RuntimeRestoreInstructions.Restore(operation, source, node, timeouts);
            case OperationPhase.Restore:
                if (everyMember)
                {
                    list.Add(RestoreSnapshotStep(source, snapshot, source.InitialCluster, timeouts));
                }
                break;
            case OperationPhase.RestartCluster when (operation.Progress?.Pass ?? RestartPass.NotStarted) == RestartPass.Recovery:
                return RestoreRecovery.Instructions(operation, cluster, node, timeouts);
            case OperationPhase.RestartCluster when cluster.Runtime != Runtime.Etcd:
                return RuntimeRestoreInstructions.Restart(operation, source, node, timeouts);
            case OperationPhase.RestartCluster:
                if (init || etcd)
                {
                    list.Add(StartRuntimeStep(StartRuntime, !etcd, restart: false, timeouts));
                }
                if (etcd)
                {
                    list.Add(WaitHealthyStep(WaitHealthy, timeouts));
                }
                break;
        }
        return list;
    }

    internal static Instruction RestoreSnapshotStep(RestoreSource source, string snapshot, string initialCluster, OperationTimeouts timeouts)
        => Make(RestoreSnapshot, timeouts.SaveInstruction, 1, i => i.RestoreSnapshot = new RestoreSnapshotInstruction
        {
            Snapshot = snapshot, Sha256 = source.Sha256, InitialCluster = initialCluster,
        });

    internal static Instruction StartRuntimeStep(string id, bool skipEtcdWait, bool restart, OperationTimeouts timeouts)
        => Make(id, timeouts.RestoreStep, 2, i => i.StartRuntime = new StartRuntimeInstruction { SkipEtcdWait = skipEtcdWait, Restart = restart });

    internal static Instruction WaitHealthyStep(string id, OperationTimeouts timeouts)
        => Make(id, timeouts.RestoreStep, 1, i => i.WaitHealthy = new WaitHealthyInstruction());

    internal static Instruction Make(string id, TimeSpan timeout, int attempts, Action<Instruction> kind)
    {
        var instruction = new Instruction { Id = id, Timeout = Duration.FromTimeSpan(timeout), MaxAttempts = attempts };
        kind(instruction);
        return instruction;
    }
}
