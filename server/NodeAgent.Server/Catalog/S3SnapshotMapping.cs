using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.S3;

namespace NodeAgent.Server.Catalog;

/// <summary>
/// An object of a cluster's S3 folder as a catalog copy, read the way the agents read it: our
/// sidecar's keys first; without one (K3s's upload, <c>without_sidecar</c>, no sha256), K3s's object
/// metadata (<c>&lt;rt&gt;-node-name</c>, <c>-token-hash</c>; its <c>-cluster-id</c> is K3s's kube-system UID, so the
/// copy belongs to the listed cluster), else the name
/// (<c>&lt;name&gt;-&lt;node&gt;-&lt;unix&gt;[.zip]</c>) for its node and time, and K3s's own sidecar
/// (Rancher's cluster spec) for the Kubernetes version.
/// </summary>
internal static class S3SnapshotMapping
{
    private static readonly string[] Runtimes = ["k3s", "rke2", "etcd"];

    /// <summary>Rancher's key for the cluster spec in K3s's extra metadata: base64 of the gzipped JSON spec.</summary>
    private const string ClusterSpecKey = "provisioning-cluster-spec";

    public static Snapshot ToSnapshot(S3SnapshotObject o, S3Target target)
    {
        var ours = o.Sidecar is { } found && S3SnapshotObject.IsOurSidecar(found);
        var sidecar = ours ? o.Sidecar! : new Dictionary<string, string>();
        string Get(string key) => sidecar.TryGetValue(key, out var value) ? value : "";
        long Long(string key) => long.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
        var runtime = Get("runtime");
        if (runtime.Length == 0)
        {
            runtime = Runtimes.FirstOrDefault(rt => o.ObjectMetadata.ContainsKey($"{rt}-node-name") || o.ObjectMetadata.ContainsKey($"{rt}-cluster-id")) ?? "";
        }
        string Header(string suffix) => runtime.Length > 0 && o.ObjectMetadata.TryGetValue($"{runtime}-{suffix}", out var value) ? value : "";
        var created = DateTimeOffset.TryParse(Get("createdAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : SnapshotFileNames.CreatedFromName(o.Name) ?? o.LastModified;
        var node = Or(Get("nodeName"), Header("node-name"));
        return new Snapshot
        {
            Name = o.Name,
            Node = ours || node.Length > 0 ? node : SnapshotFileNames.NodeFromName(o.Name, ["on-demand", "etcd-snapshot", target.NamePrefix]),
            // K3s's <rt>-cluster-id is the kube-system namespace's UID, not a cluster of ours: a K3s upload
            // belongs to the cluster whose folder holds it (the catalog fills an empty cluster in).
            Cluster = ours ? Or(Get("cluster"), Header("cluster-id")) : "",
            Storage = StorageKind.S3,
            Location = target.Location(o.Key),
            Size = o.Size,
            CreatedAt = Timestamp.FromDateTimeOffset(created.ToUniversalTime()),
            Compressed = o.Name.EndsWith(".zip", StringComparison.Ordinal),
            Sha256 = Get("sha256"),
            Status = SnapshotStatus.Successful,
            EtcdRevision = Long("etcdRevision"),
            EtcdVersion = Get("etcdVersion"),
            Runtime = RuntimeNames.Parse(runtime),
            KubernetesVersion = ours ? Get("kubernetesVersion") : KubernetesVersionOf(o.Sidecar),
            ClusterConfiguration = Get("clusterConfig"),
            TokenHash = Or(Get("tokenHash"), Header("token-hash")),
            // Without a sidecar of ours the first node that verifies the file computes its sha256.
            WithoutSidecar = !ours,
        };
    }

    /// <summary>The <c>kubernetesVersion</c> of Rancher's cluster spec in K3s's sidecar; "" when there is none or it cannot be read.</summary>
    private static string KubernetesVersionOf(IReadOnlyDictionary<string, string>? k3sSidecar)
    {
        if (k3sSidecar is null || !k3sSidecar.TryGetValue(ClusterSpecKey, out var spec))
        {
            return "";
        }
        try
        {
            using var gzip = new GZipStream(new MemoryStream(Convert.FromBase64String(spec)), CompressionMode.Decompress);
            using var document = JsonDocument.Parse(gzip);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("kubernetesVersion", out var version) && version.ValueKind == JsonValueKind.String
                ? version.GetString()!
                : "";
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or JsonException)
        {
            return "";
        }
    }

    private static string Or(string first, string second) => first.Length > 0 ? first : second;
}
