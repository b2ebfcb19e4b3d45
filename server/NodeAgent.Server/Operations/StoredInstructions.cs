using Google.Protobuf;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// Keeps each node's instruction list with the operation (<see cref="OperationRecord.Instructions"/>):
/// <see cref="OperationInstructions.ForNode"/> is asked once, when the node's part of a phase
/// begins, and its answer is encoded and stored; a new phase starts with no lists. What changes
/// later (the cluster's S3 settings, a node's facts) and a server restart leave a stored list as it is.
/// </summary>
internal static class StoredInstructions
{
    public static PlannedInstruction Encode(Instruction instruction) => new(instruction.Id, instruction.KindName(), instruction.ToByteArray());

    /// <summary>The operation with <paramref name="node"/>'s list stored (replacing any it had).</summary>
    public static OperationRecord Store(OperationRecord operation, string node, IEnumerable<Instruction> instructions)
        => operation with
        {
            Instructions = [.. (operation.Instructions ?? []).Where(n => n.Node != node), new NodeInstructions(node, instructions.Select(Encode).ToArray())],
        };

    /// <summary>
    /// Stores the list of every node that was given its first instruction and has no list yet: a
    /// new snapshot or delete operation (its nodes start at once), and an operation stored by a
    /// version that kept no lists (each computed once from the stored state, what that version
    /// computed on every read; nodes still waiting get theirs when their turn comes).
    /// </summary>
    public static OperationRecord ForAssignedNodes(OperationRecord operation, ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, OperationTimeouts timeouts)
    {
        var stored = operation.Instructions is null ? operation with { Instructions = [] } : operation;
        foreach (var step in operation.State.Nodes.Where(s => s.InstructionId.Length > 0 && stored.InstructionsOf(s.Node) is null))
        {
            if (nodes.FirstOrDefault(n => n.Name == step.Node) is { } node && OperationInstructions.ForNode(operation, cluster, node, timeouts) is { } list)
            {
                stored = Store(stored, node.Name, list);
            }
        }
        return stored;
    }

    /// <summary>
    /// The restore's sha256 became known (the snapshot recorded none and a node computed it): every
    /// stored instruction that checks the snapshot and carries no sha256 now carries this one.
    /// </summary>
    public static IReadOnlyList<NodeInstructions>? WithSha256(IReadOnlyList<NodeInstructions>? lists, string sha256)
        => lists?.Select(n => n with { Instructions = n.Instructions.Select(p => WithSha256(p, sha256)).ToArray() }).ToArray();

    private static PlannedInstruction WithSha256(PlannedInstruction planned, string sha256)
    {
        var instruction = Instruction.Parser.ParseFrom(planned.Encoded);
        switch (instruction.KindCase)
        {
            case Instruction.KindOneofCase.DownloadSnapshot when instruction.DownloadSnapshot.Sha256.Length == 0:
                instruction.DownloadSnapshot.Sha256 = sha256;
                break;
            case Instruction.KindOneofCase.VerifySnapshot when instruction.VerifySnapshot.Sha256.Length == 0:
                instruction.VerifySnapshot.Sha256 = sha256;
                break;
            case Instruction.KindOneofCase.RestoreSnapshot when instruction.RestoreSnapshot.Sha256.Length == 0:
                instruction.RestoreSnapshot.Sha256 = sha256;
                break;
            default:
                return planned;
        }
        return Encode(instruction);
    }
}
