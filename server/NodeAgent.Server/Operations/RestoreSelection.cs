using System.Globalization;
using System.Text.RegularExpressions;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Operations;

/// <summary>
/// What a restore request is checked against before an operation exists (so a refused request
/// stops nothing): the snapshot is in the catalog, succeeded and is this cluster's (unless allowed), the cluster's token hash matches,
/// Rancher's version guard, the mode has the metadata it needs; then the copy to restore from and
/// the init node are chosen. The node-side checks (sha256, etcd trailer, disk) run in the
/// operation's Started phase, still before anything is stopped.
/// </summary>
internal static partial class RestoreSelection
{
    public static (string InitNode, RestoreSource Source) Choose(
        ClusterRecord cluster, IReadOnlyList<NodeRecord> nodes, IReadOnlyList<Snapshot> catalog, string snapshot, RestoreMode mode, bool safetySnapshot, bool allowOtherCluster)
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
        if (chosen.Sha256.Length == 0)
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
        if (mode is RestoreMode.KubernetesVersion or RestoreMode.All && chosen.KubernetesVersion.Length == 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition, $"restore mode {mode} needs the snapshot's Kubernetes version, and '{snapshot}' has none recorded; use RESTORE_MODE_NONE");
        }
        if (mode == RestoreMode.All && chosen.ClusterConfiguration.Length == 0)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition, $"restore mode ALL needs the snapshot's cluster configuration, and '{snapshot}' has none recorded; use RESTORE_MODE_KUBERNETES_VERSION or NONE");
        }
        // The node holding a local copy restores it; for an S3 copy, the current init node (Rancher's election).
        var init = local?.Node ?? (etcdNodes.FirstOrDefault(n => n.InitNode) ?? etcdNodes.OrderBy(n => n.Name, StringComparer.Ordinal).First()).Name;
        var facts = local ?? s3!;
        return (init, new RestoreSource(chosen.Sha256, local is not null, s3 is not null, safetySnapshot, facts.KubernetesVersion, facts.ClusterConfiguration));
    }

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
