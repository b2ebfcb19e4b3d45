using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Operations;

/// <summary>What each node is told to do in each phase of an operation.</summary>
internal static class OperationInstructions
{
    public const string SaveSnapshot = "started/save-snapshot";
    public const string DeleteSnapshot = "started/delete-snapshot";
    public const string SteadyState = "restart-cluster/steady-state";

    /// <summary>The instruction a node runs in the operation's current phase; null when the phase has none.</summary>
    public static Instruction? For(OperationRecord operation, bool hasS3, OperationTimeouts timeouts)
    {
        var state = operation.State;
        return (state.Type, state.Phase) switch
        {
            (OperationType.Snapshot, OperationPhase.Started) => new Instruction
            {
                Id = SaveSnapshot,
                Timeout = Duration.FromTimeSpan(timeouts.SaveInstruction),
                // A save is not destructive: one more attempt is safe.
                MaxAttempts = 2,
                SaveSnapshot = new SaveSnapshotInstruction { Name = state.Snapshot, Compress = operation.Compress, Upload = hasS3 },
            },
            (OperationType.DeleteSnapshot, OperationPhase.Started) => new Instruction
            {
                Id = DeleteSnapshot,
                Timeout = Duration.FromTimeSpan(timeouts.Delete),
                MaxAttempts = 2,
                DeleteSnapshot = new DeleteSnapshotInstruction { Snapshot = state.Snapshot },
            },
            _ => null,
        };
    }
}
