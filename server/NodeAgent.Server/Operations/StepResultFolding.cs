using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;

namespace NodeAgent.Server.Operations;

/// <summary>
/// Folds a node's step results into its operation. A node runs its phase's instructions in order:
/// a result for the instruction it is on moves it to the next one (or ends its part of the phase),
/// a failure stops it there. The node's list is the one stored when its part of the phase began.
/// The first sha256 a node computed for a snapshot that recorded none becomes the restore's, and
/// every stored instruction that checks the snapshot carries it from then on.
/// </summary>
internal static class StepResultFolding
{
    /// <returns>The operation (unchanged when no result applied) and the instructions that ended with their result.</returns>
    public static (OperationRecord Operation, bool Changed, IReadOnlyList<(PlannedInstruction Instruction, StepResult Result)> Ended) Fold(
        OperationRecord operation, string node, IReadOnlyList<StepResult> steps, DateTimeOffset now)
    {
        var instructions = operation.InstructionsOf(node) ?? [];
        var next = operation.State.Clone();
        var step = next.Nodes.FirstOrDefault(n => n.Node == node);
        var results = steps.Where(r => r.OperationId == operation.Id).GroupBy(r => r.InstructionId).ToDictionary(g => g.Key, g => g.Last());
        var ids = instructions.Select(i => i.Id).ToList();
        var ended = new List<(PlannedInstruction, StepResult)>();
        var source = operation.Restore;
        var changed = false;
        while (step is not null && step.InstructionId.Length > 0 && results.Remove(step.InstructionId, out var result))
        {
            var index = ids.IndexOf(step.InstructionId);
            if (index >= 0 && Ended(result.State) && !Ended(step.State))
            {
                ended.Add((instructions[index], result));
            }
            if (source is { Sha256.Length: 0 } && result.State == StepState.Succeeded && result.SnapshotSha256.Length > 0
                && step.InstructionId is OperationInstructions.DownloadSnapshot or OperationInstructions.VerifySnapshot)
            {
                source = source with { Sha256 = result.SnapshotSha256.ToLowerInvariant() };
            }
            step.State = result.State;
            step.Message = result.Message;
            step.Progress = result.Progress;
            step.UpdatedAt = Timestamp.FromDateTimeOffset(now);
            changed = true;
            if (result.State is not (StepState.Succeeded or StepState.Skipped) || index < 0 || index == instructions.Count - 1)
            {
                break;
            }
            step.InstructionId = instructions[index + 1].Id;
            step.State = StepState.Pending;
            step.Progress = null;
        }
        if (!changed)
        {
            return (operation, false, ended);
        }
        var lists = source == operation.Restore ? operation.Instructions : StoredInstructions.WithSha256(operation.Instructions, source!.Sha256);
        return (operation with { State = next, Restore = source, Instructions = lists }, true, ended);
    }

    private static bool Ended(StepState state) => state is StepState.Succeeded or StepState.Failed or StepState.Skipped;
}
