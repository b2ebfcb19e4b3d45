using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Operations;

/// <summary>
/// An operation as the server keeps it: its public state (the contract's Operation, which is
/// exactly what operators see) plus what only the phase machine needs.
/// </summary>
internal sealed record OperationRecord(Operation State, DateTimeOffset PhaseDeadline, bool Compress)
{
    public string Id => State.Id;

    public string Cluster => State.Cluster;

    public bool IsActive => !OperationPhases.IsTerminal(State.Phase);
}

/// <summary>Facts about phases.</summary>
internal static class OperationPhases
{
    public static bool IsTerminal(OperationPhase phase)
        => phase is OperationPhase.Finished or OperationPhase.Failed or OperationPhase.Cancelled;
}
