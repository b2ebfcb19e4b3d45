using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Store;

/// <summary>A registered node. Only the sha256 of its credential is kept.</summary>
internal sealed record NodeRecord(
    string Cluster,
    string Name,
    IReadOnlyList<NodeRole> Roles,
    bool InitNode,
    string CredentialHash,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? LastSeen,
    string AppliedChecksum,
    string AgentVersion);
