namespace NodeAgent.Agent.Etcd;

/// <summary>What etcd's Status says of the member a snapshot is taken from.</summary>
internal sealed record EtcdMemberStatus(Uri Endpoint, string Version, long Revision, long DbSizeBytes, ulong MemberId, bool IsLearner);
