using System.Globalization;
using System.Text.RegularExpressions;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// What a restore request is checked against before an operation exists (so a refused request
/// stops nothing): the snapshot is in the catalog, succeeded and is this cluster's (unless allowed), the cluster's token hash matches,
/// Rancher's version guard, the mode has the metadata it needs (K3s/RKE2: the runtime version, and
/// for mode all the runtime config files); then the copy to restore from and the init node are
/// chosen, and for K3s/RKE2 the init node's join URL (it must have reported its advertise address). The node-side checks (sha256, etcd trailer, disk) run in the
/// operation's Started phase, still before anything is stopped.
/// </summary>
internal static partial class RestoreSelection
{
    /// <param name="isLive">Whether a node answers (only a live node is elected init node).</param>
    public static RestoreChoice Choose(
        ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, IReadOnlyList<Snapshot> catalog, string snapshot, RestoreMode mode, bool safetySnapshot, bool allowOtherCluster,
        Func<NodeRecord, bool> isLive)
    {
        var etcdNodes = nodes.Where(n => n.Roles.Contains(NodeRole.Etcd)).ToList();
        if (etcdNodes.Count == 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition, $"cluster '{cluster.Name}' has no registered etcd node to restore on");
        }
        var copies = catalog.Where(s => s.Name == snapshot).ToList();
        if (copies.Count == 0)
        {
            throw DomainException.NotFound($"snapshot '{snapshot}' is not in the catalog of cluster '{cluster.Name}' (list them with ListSnapshots)");
        }
        var usable = copies.Where(s => s.Status == SnapshotStatus.Successful || (s.Storage == StorageKind.Local && s.Status == SnapshotStatus.UploadFailed)).ToList();
        if (usable.Count == 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"snapshot '{snapshot}' did not succeed ({copies[0].Status}: {copies[0].Message}); restore another one");
        }
        var local = usable.FirstOrDefault(s => s.Storage == StorageKind.Local && etcdNodes.Any(n => n.Name == s.Node));
        var s3 = usable.FirstOrDefault(s => s.Storage == StorageKind.S3);
        var chosen = local ?? s3
            ?? throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"snapshot '{snapshot}' is only on nodes that are no longer etcd nodes of cluster '{cluster.Name}', and not in S3");
        if (!allowOtherCluster && chosen.Cluster.Length > 0 && chosen.Cluster != cluster.Name)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"snapshot '{snapshot}' belongs to cluster '{chosen.Cluster}', not '{cluster.Name}'; restore it only on purpose, with allow_other_cluster (nodeagentctl restore --allow-other-cluster)");
        }
        if (chosen.Sha256.Length == 0 && !chosen.WithoutSidecar)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition, $"snapshot '{snapshot}' has no recorded sha256, so no node could verify it before a restore");
        }
        if (cluster.Runtime == Runtime.Etcd && etcdNodes.Count > 1 && s3 is null)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"snapshot '{snapshot}' is only on node '{chosen.Node}': a plain etcd cluster is restored by every member from the same file, so it needs the S3 copy");
        }
        if (cluster.TokenHash.Length > 0 && chosen.TokenHash.Length > 0 && !TokenHashesMatch(cluster.TokenHash, chosen.TokenHash))
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"snapshot '{snapshot}' was taken with another server token (token hash {chosen.TokenHash}, cluster {cluster.TokenHash}); K3s/RKE2 could not decrypt its bootstrap data");
        }
        if (Minor(chosen.KubernetesVersion) is { } from and < 25 && Minor(cluster.KubernetesVersion) is >= 25)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"snapshot '{snapshot}' is from Kubernetes {chosen.KubernetesVersion} (before 1.25, with PodSecurityPolicies); it cannot be restored into {cluster.KubernetesVersion}");
        }
        var runtime = cluster.Runtime != Runtime.Etcd;
        if (runtime && mode is RestoreMode.KubernetesVersion or RestoreMode.All && chosen.KubernetesVersion.Length == 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition, $"snapshot '{snapshot}' records no runtime version; restore with mode none");
        }
        if (runtime && mode == RestoreMode.All && !RuntimeConfigDocument.IsOne(chosen.ClusterConfiguration))
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"snapshot '{snapshot}' records no runtime configuration files (a {RuntimeConfigDocument.Format} document); restore with mode kubernetesVersion or none");
        }
        if (mode is RestoreMode.KubernetesVersion or RestoreMode.All && chosen.KubernetesVersion.Length == 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition, $"restore mode {mode} needs the snapshot's Kubernetes version, and '{snapshot}' has none recorded; use RESTORE_MODE_NONE");
        }
        if (mode == RestoreMode.All && chosen.ClusterConfiguration.Length == 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition, $"restore mode ALL needs the snapshot's cluster configuration, and '{snapshot}' has none recorded; use RESTORE_MODE_KUBERNETES_VERSION or NONE");
        }
        var (init, reason, elected) = ElectInit(etcdNodes, local, snapshot, isLive);
        var facts = local ?? s3!;
        return new RestoreChoice(init, reason, elected,
            new RestoreSource(chosen.Sha256, local is not null, s3 is not null, safetySnapshot, facts.KubernetesVersion, facts.ClusterConfiguration,
                cluster.Runtime == Runtime.Etcd ? InitialCluster(etcdNodes) : "",
                runtime ? JoinUrl(cluster, nodes, init) : ""));
    }

    /// <summary>
    /// Where the other K3s/RKE2 servers rejoin the restored init node: its advertised address. Without
    /// one they could not be pointed at it, and a server with no join address starts a second, empty cluster.
    /// </summary>
    private static string JoinUrl(ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, string init)
    {
        var initNode = nodes.First(n => n.Name == init);
        if (initNode.AdvertiseAddress.Length > 0)
        {
            return AdvertiseAddress.JoinUrl(cluster.Runtime, initNode.AdvertiseAddress);
        }
        if (nodes.Any(n => n.Name != init && RuntimeRestoreInstructions.IsServer(n)))
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"node '{init}', the restore's init node, has reported no advertise address, so the other servers could not be pointed at it to rejoin; "
                + $"run a node-agent there that reports it (from advertise-address or node-ip in the runtime's config, else the host's primary address), "
                + $"check that 'nodeagentctl node ls --cluster {cluster.Name}' shows its ADDRESS, then restore again");
        }
        return "";
    }

    /// <summary>
    /// The node holding a local copy restores it; for an S3 copy, the current init node when it is
    /// live (Rancher's election), else the first live etcd node by name, which becomes the init node.
    /// </summary>
    private static (string Init, string Reason, bool Elected) ElectInit(List<NodeRecord> etcdNodes, Snapshot? local, string snapshot, Func<NodeRecord, bool> isLive)
    {
        if (local is not null)
        {
            return (local.Node, $"{local.Node} holds the local copy of {snapshot}", false);
        }
        var current = etcdNodes.FirstOrDefault(n => n.InitNode);
        if (current is not null && isLive(current))
        {
            return (current.Name, $"S3 copy; {current.Name} is the cluster's init node and live", false);
        }
        var live = etcdNodes.Where(isLive).OrderBy(n => n.Name, StringComparer.Ordinal).FirstOrDefault()
            ?? throw new DomainException(DomainErrorKind.FailedPrecondition, $"no etcd node of cluster '{etcdNodes[0].Cluster}' is live to restore on");
        var why = current is null ? "the cluster has no init node (it was removed)" : $"the init node {current.Name} is unreachable";
        return (live.Name, $"S3 copy; {why}, so {live.Name}, the first live etcd node by name, is elected and becomes the init node", true);
    }

    /// <summary>etcd's --initial-cluster of the restoring members, or "" when one did not register its member settings.</summary>
    private static string InitialCluster(List<NodeRecord> etcdNodes)
        => etcdNodes.All(n => n.EtcdMemberName.Length > 0 && n.EtcdPeerUrls.Count > 0)
            ? string.Join(',', etcdNodes.OrderBy(n => n.Name, StringComparer.Ordinal).SelectMany(n => n.EtcdPeerUrls.Select(u => $"{n.EtcdMemberName}={u}")))
            : "";

    /// <summary>K3s records 12 hex characters of the token's hash; the cluster may hold the whole sha256.</summary>
    private static bool TokenHashesMatch(string a, string b)
        => a.StartsWith(b, StringComparison.OrdinalIgnoreCase) || b.StartsWith(a, StringComparison.OrdinalIgnoreCase);

    private static int? Minor(string version)
    {
        var match = VersionPattern().Match(version);
        return match.Success && match.Groups[1].Value == "1" ? int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"^v?(\d+)\.(\d+)")]
    private static partial Regex VersionPattern();
}

/// <summary>The init node a restore starts from, why, whether it was elected in place of a gone or unreachable one, and what it restores.</summary>
internal sealed record RestoreChoice(string InitNode, string Reason, bool Elected, RestoreSource Source);
