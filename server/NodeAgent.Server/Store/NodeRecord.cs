using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Store;

/// <summary>
/// A registered node. Only the sha256 of its credential is kept. The name is bound to that
/// credential until an operator resets it (<paramref name="CredentialReset"/>: the hash is then of
/// a credential nobody holds, and the next registration with the bootstrap token claims the name).
/// </summary>
internal sealed record NodeRecord(
    string Cluster,
    string Name,
    IReadOnlyList<NodeRole> Roles,
    bool InitNode,
    string CredentialHash,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? LastSeen,
    string AppliedChecksum,
    string AgentVersion,
    bool CredentialReset = false)
{
    /// <summary>The store's revision of this record when it was read (0: not stored yet); a write is made only if it is still current.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public long Revision { get; init; }

    /// <summary>Why the agent's last report was refused (the agent says so in a small report); empty once one gets through.</summary>
    public string LastReportError { get; init; } = "";

    /// <summary>The etcd member name the agent registered with; empty when it did not say.</summary>
    public string EtcdMemberName { get; init; } = "";

    /// <summary>The member's peer URLs the agent registered with; empty when it did not say.</summary>
    public IReadOnlyList<string> EtcdPeerUrls { get; init; } = [];

    /// <summary>K3s/RKE2: the address the runtime advertises, as the agent last reported it; empty when it did not say.</summary>
    public string AdvertiseAddress { get; init; } = "";

    /// <summary>K3s/RKE2: <c>&lt;rt&gt; --version</c> as the agent last reported it.</summary>
    public string RuntimeVersion { get; init; } = "";

    /// <summary>The runtime's own scheduled snapshots are on as well.</summary>
    public bool RuntimeSnapshotsEnabled { get; init; }

    /// <summary>The last result of each probe, as the agent's last report carried them (by name).</summary>
    public IReadOnlyList<NodeProbe> Probes { get; init; } = [];
}
