using System.IO.Compression;
using System.Text.Json;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// K3s's own sidecar, not ours: <c>.metadata/&lt;file&gt;</c> as K3s writes it, the data of the
/// <c>&lt;rt&gt;-etcd-snapshot-extra-metadata</c> ConfigMap as a flat JSON map of strings (Rancher puts
/// <c>provisioning-cluster-spec</c> there: base64 of the gzipped JSON cluster spec). It records no
/// node, sha256 or created time; what we read from it is the Kubernetes version Rancher's spec names.
/// </summary>
internal sealed record RuntimeSnapshotMetadata(IReadOnlyDictionary<string, string> Data, string KubernetesVersion)
{
    /// <summary>Rancher's key for the cluster spec in the extra metadata (<c>EtcdSnapshotConfigMapKey</c>).</summary>
    public const string ClusterSpecKey = "provisioning-cluster-spec";

    public static RuntimeSnapshotMetadata FromMap(IReadOnlyDictionary<string, string> map)
        => new(map, map.TryGetValue(ClusterSpecKey, out var spec) ? KubernetesVersionOf(spec) : "");

    /// <summary>The spec's <c>kubernetesVersion</c>, or "" when the value is not base64 of gzipped JSON naming one.</summary>
    private static string KubernetesVersionOf(string spec)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(Convert.FromBase64String(spec)), CompressionMode.Decompress);
            using var document = JsonDocument.Parse(gzip);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("kubernetesVersion", out var version)
                && version.ValueKind == JsonValueKind.String
                ? version.GetString()!
                : "";
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or JsonException)
        {
            return "";
        }
    }
}
