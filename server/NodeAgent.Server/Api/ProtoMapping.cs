using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Api;

/// <summary>Store records to contract messages (secrets redacted).</summary>
internal static class ProtoMapping
{
    public static Cluster ToProto(this ClusterRecord cluster, int nodeCount) => new()
    {
        Name = cluster.Name,
        Runtime = cluster.Runtime,
        KubernetesVersion = cluster.KubernetesVersion,
        ClusterConfiguration = cluster.ClusterConfiguration,
        SnapshotSettings = S3SettingsPolicy.Redact(cluster.SnapshotSettings),
        TokenHash = cluster.TokenHash,
        CreatedAt = Timestamp.FromDateTimeOffset(cluster.CreatedAt),
        UpdatedAt = Timestamp.FromDateTimeOffset(cluster.UpdatedAt),
        NodeCount = nodeCount,
    };

    public static Node ToProto(this NodeRecord node, string desiredChecksum, NodeLivenessView liveness)
    {
        var proto = new Node
        {
            Cluster = node.Cluster,
            Name = node.Name,
            InitNode = node.InitNode,
            RegisteredAt = Timestamp.FromDateTimeOffset(node.RegisteredAt),
            DesiredChecksum = desiredChecksum,
            AppliedChecksum = node.AppliedChecksum,
            AgentVersion = node.AgentVersion,
            Connected = liveness.Connected,
            CredentialReset = node.CredentialReset,
            LastReportError = node.LastReportError,
            Unreachable = liveness.Unreachable,
            EtcdMemberName = node.EtcdMemberName,
            AdvertiseAddress = node.AdvertiseAddress,
            RuntimeVersion = node.RuntimeVersion,
            RuntimeSnapshotsEnabled = node.RuntimeSnapshotsEnabled,
        };
        proto.Roles.AddRange(node.Roles);
        proto.EtcdPeerUrls.AddRange(node.EtcdPeerUrls);
        proto.Probes.AddRange(node.Probes.Select(ProbeResults.ToProto));
        if (liveness.LastSeen is { } seen)
        {
            proto.LastSeen = Timestamp.FromDateTimeOffset(seen);
        }
        return proto;
    }
}
