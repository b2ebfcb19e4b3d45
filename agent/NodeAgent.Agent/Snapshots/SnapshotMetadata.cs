using System.Globalization;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// What we know of one snapshot, kept in its sidecar. On disk it is a flat JSON object of strings,
/// because K3s reads the sidecar as its extra-metadata map (<c>map[string]string</c>) and Rancher
/// decodes it the same way: a nested or numeric value would break their listing of our files.
/// </summary>
internal sealed record SnapshotMetadata
{
    public const string Successful = "successful";
    public const string Failed = "failed";

    public required string Name { get; init; }

    public required string NodeName { get; init; }

    public string Cluster { get; init; } = "";

    public string Runtime { get; init; } = "";

    public string KubernetesVersion { get; init; } = "";

    public string ClusterConfig { get; init; } = "";

    public required DateTimeOffset CreatedAt { get; init; }

    public long SizeBytes { get; init; }

    /// <summary>sha256 of the file as stored (the zip when compressed).</summary>
    public string Sha256 { get; init; } = "";

    /// <summary>sha256 of the uncompressed snapshot (db + etcd's trailer), what a restore verifies after unzipping.</summary>
    public string SnapshotSha256 { get; init; } = "";

    public long EtcdRevision { get; init; }

    public string EtcdVersion { get; init; } = "";

    public bool Compressed { get; init; }

    public string TokenHash { get; init; } = "";

    public string Status { get; init; } = Successful;

    public string Message { get; init; } = "";

    public TimeSpan Duration { get; init; }

    /// <summary>Where the S3 copy stands (see <see cref="UploadState"/>).</summary>
    public UploadState S3Upload { get; init; }

    public Dictionary<string, string> ToMap()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["name"] = Name,
            ["nodeName"] = NodeName,
            ["createdAt"] = CreatedAt.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["size"] = SizeBytes.ToString(CultureInfo.InvariantCulture),
            ["compressed"] = Compressed ? "true" : "false",
            ["status"] = Status,
            ["etcdRevision"] = EtcdRevision.ToString(CultureInfo.InvariantCulture),
            ["durationMs"] = ((long)Duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
        };
        void Add(string key, string value)
        {
            if (value.Length > 0)
            {
                map[key] = value;
            }
        }
        Add("cluster", Cluster);
        Add("runtime", Runtime);
        Add("kubernetesVersion", KubernetesVersion);
        Add("clusterConfig", ClusterConfig);
        Add("sha256", Sha256);
        Add("snapshotSha256", SnapshotSha256);
        Add("etcdVersion", EtcdVersion);
        Add("tokenHash", TokenHash);
        Add("message", Message);
        Add("s3Upload", S3Upload.ToString());
        return map;
    }

    /// <summary>
    /// Whether a sidecar's map is one of ours: every sidecar we write names its node. K3s's own
    /// sidecar (its extra-metadata ConfigMap's data, see <see cref="RuntimeSnapshotMetadata"/>) never does.
    /// </summary>
    public static bool IsOurs(IReadOnlyDictionary<string, string> map) => map.ContainsKey("nodeName");

    /// <summary>Reads what one of our sidecars holds; keys we do not know are ignored.</summary>
    public static SnapshotMetadata FromMap(IReadOnlyDictionary<string, string> map, string fileName)
    {
        string Get(string key) => map.TryGetValue(key, out var value) ? value : "";
        long Long(string key) => long.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
        return new SnapshotMetadata
        {
            Name = fileName,
            NodeName = Get("nodeName"),
            Cluster = Get("cluster"),
            Runtime = Get("runtime"),
            KubernetesVersion = Get("kubernetesVersion"),
            ClusterConfig = Get("clusterConfig"),
            CreatedAt = DateTimeOffset.TryParse(Get("createdAt"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var created) ? created : DateTimeOffset.MinValue,
            SizeBytes = Long("size"),
            Sha256 = Get("sha256"),
            SnapshotSha256 = Get("snapshotSha256"),
            EtcdRevision = Long("etcdRevision"),
            EtcdVersion = Get("etcdVersion"),
            Compressed = Get("compressed") == "true",
            TokenHash = Get("tokenHash"),
            Status = map.ContainsKey("status") ? Get("status") : Successful,
            Message = Get("message"),
            Duration = TimeSpan.FromMilliseconds(Long("durationMs")),
            S3Upload = UploadState.Parse(Get("s3Upload")),
        };
    }
}
