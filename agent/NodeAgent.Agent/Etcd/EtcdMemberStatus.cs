namespace NodeAgent.Agent.Etcd;

/// <summary>What etcd's Status says of the member a snapshot is taken from.</summary>
/// <param name="LeaderId">The leader the member knows of, 0 while it knows of none.</param>
internal sealed record EtcdMemberStatus(Uri Endpoint, string Version, long Revision, long DbSizeBytes, ulong MemberId, bool IsLearner, ulong LeaderId = 0)
{
    public bool IsLeader => LeaderId != 0 && LeaderId == MemberId;
}
