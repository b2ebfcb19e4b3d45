namespace NodeAgent.Server.Operations;

/// <summary>
/// Whether this server drives operations now: resumes them at start and ends phases at their
/// deadlines. One server alone always does; of several replicas on one etcd store, the elected one.
/// Step results are folded by whichever replica an agent reports to: every change of an operation
/// is a write on the revision it read, so replicas never lose one another's changes.
/// </summary>
internal interface IOperationLeadership
{
    bool IsLeader { get; }
}

/// <summary>The only server on its store (SQLite) drives every operation.</summary>
internal sealed class SoleServer : IOperationLeadership
{
    public bool IsLeader => true;
}
