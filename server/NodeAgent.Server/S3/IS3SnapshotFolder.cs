namespace NodeAgent.Server.S3;

/// <summary>
/// Reads the snapshots in a cluster's S3 folder, laid out as K3s lays them out: <c>&lt;folder&gt;/&lt;file&gt;</c>
/// with its sidecar <c>&lt;folder&gt;/.metadata/&lt;file&gt;</c>. The SDK stays behind this interface.
/// </summary>
internal interface IS3SnapshotFolder
{
    /// <summary>Every snapshot object directly in the folder, with its sidecar (or, without one, K3s's object metadata).</summary>
    /// <exception cref="S3ListingException">The listing failed; the message says why, in one line.</exception>
    Task<IReadOnlyList<S3SnapshotObject>> ListAsync(S3Target target, CancellationToken cancellationToken);
}

/// <summary>One snapshot object: its key and size, and what its sidecar JSON (a flat map of strings) or its object metadata says.</summary>
/// <param name="Sidecar">The sidecar's map; null when the object has none (or it is not a JSON map of strings).</param>
/// <param name="ObjectMetadata">K3s's user metadata (<c>&lt;rt&gt;-node-name</c>, <c>-cluster-id</c>, <c>-token-hash</c>), read only when there is no sidecar of ours; keys lower-case, without <c>x-amz-meta-</c>.</param>
internal sealed record S3SnapshotObject(
    string Name,
    string Key,
    long Size,
    DateTimeOffset LastModified,
    IReadOnlyDictionary<string, string>? Sidecar,
    IReadOnlyDictionary<string, string> ObjectMetadata)
{
    /// <summary>
    /// Whether a sidecar is one of ours (every one names its node); otherwise it is K3s's own, the data
    /// of its extra-metadata ConfigMap (Rancher's <c>provisioning-cluster-spec</c>), and never read as ours.
    /// </summary>
    public static bool IsOurSidecar(IReadOnlyDictionary<string, string> sidecar) => sidecar.ContainsKey("nodeName");
}

/// <summary>Listing an S3 folder failed; the message is one line an operator can act on.</summary>
internal sealed class S3ListingException(string message, Exception? inner = null) : Exception(message, inner);
