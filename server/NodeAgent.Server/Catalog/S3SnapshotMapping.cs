using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.S3;

namespace NodeAgent.Server.Catalog;

/// <summary>
/// An object of a cluster's S3 folder as a catalog copy, read the way the agents read it: the
/// sidecar's keys (our own and K3s's extra metadata) first, else K3s's object metadata
/// (<c>&lt;rt&gt;-node-name</c>, <c>-cluster-id</c>, <c>-token-hash</c>), else the name
/// (<c>&lt;name&gt;-&lt;node&gt;-&lt;unix&gt;[.zip]</c>) for its time.
/// </summary>
internal static class S3SnapshotMapping
{
    private static readonly string[] Runtimes = ["k3s", "rke2", "etcd"];

    public static Snapshot ToSnapshot(S3SnapshotObject o, S3Target target)
    {
        var sidecar = o.Sidecar ?? new Dictionary<string, string>();
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
            : CreatedFromName(o.Name) ?? o.LastModified;
        return new Snapshot
        {
            Name = o.Name,
            Node = Or(Get("nodeName"), Header("node-name")),
            Cluster = Or(Get("cluster"), Header("cluster-id")),
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
            KubernetesVersion = Get("kubernetesVersion"),
            ClusterConfiguration = Get("clusterConfig"),
            TokenHash = Or(Get("tokenHash"), Header("token-hash")),
            // Our sidecar always records the sha256; without it the first node that verifies the file computes it.
            WithoutSidecar = Get("sha256").Length == 0,
        };
    }

    /// <summary>K3s's names end in <c>-&lt;unix seconds&gt;[.zip]</c>.</summary>
    public static DateTimeOffset? CreatedFromName(string fileName)
    {
        var bare = fileName.EndsWith(".zip", StringComparison.Ordinal) ? fileName[..^4] : fileName;
        var dash = bare.LastIndexOf('-');
        return dash >= 0 && long.TryParse(bare.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            && seconds is > 0 and < 253402300800
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
    }

    private static string Or(string first, string second) => first.Length > 0 ? first : second;
}
