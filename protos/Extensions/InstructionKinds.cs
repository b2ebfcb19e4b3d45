namespace NodeAgent.Contracts.V1;

/// <summary>Names of instruction kinds as the contract spells them.</summary>
public static class InstructionKinds
{
    /// <summary>The kind's field name in the contract (save_snapshot, restore_snapshot, ...), or "unknown".</summary>
    public static string KindName(this Instruction instruction)
        => instruction.KindCase == Instruction.KindOneofCase.None
            ? "unknown"
            : Instruction.Descriptor.FindFieldByNumber((int)instruction.KindCase).Name;
}
