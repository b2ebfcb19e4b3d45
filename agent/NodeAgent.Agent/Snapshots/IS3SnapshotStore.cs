namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// Snapshots in S3, in our terms only (no SDK type crosses it): what the snapshot service, the
/// inventory and the restore ask of the bucket. <c>S3/S3SnapshotStore</c> is the one implementation;
/// disposing it disposes its S3 client.
/// </summary>
internal interface IS3SnapshotStore : IDisposable
{
    /// <summary>The target as the log names it: <c>s3://bucket/folder/ at endpoint</c>.</summary>
    string Target { get; }

    string Bucket { get; }

    /// <summary><c>s3://bucket/folder/</c>.</summary>
    string FolderLocation { get; }

    /// <summary><c>s3://bucket/folder/name</c>.</summary>
    string LocationOf(string name);

    /// <summary>The bucket exists and List, Get and Delete are allowed; <see cref="S3TargetException"/> names what is not.</summary>
    Task PreflightAsync(CancellationToken cancellationToken);

    /// <summary>An upload that runs alongside a save; its metadata object follows with <see cref="PutMetadataAsync"/>.</summary>
    ISnapshotTee StartUpload(string fileName, SnapshotSaveRequest request);

    /// <summary>The metadata object <c>&lt;folder&gt;/.metadata/&lt;file&gt;</c>: the sidecar's JSON.</summary>
    Task PutMetadataAsync(SnapshotMetadata metadata, CancellationToken cancellationToken);

    /// <summary>Uploads a local snapshot file and then its metadata object.</summary>
    Task<S3SnapshotObject> UploadAsync(string path, SnapshotMetadata metadata, CancellationToken cancellationToken);

    /// <summary>Aborts this node's multipart uploads an earlier run left behind; returns how many.</summary>
    Task<int> AbortStaleUploadsAsync(CancellationToken cancellationToken);

    /// <summary>Every snapshot directly in the folder, newest first.</summary>
    Task<IReadOnlyList<S3SnapshotObject>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Downloads and verifies a snapshot for a restore into <paramref name="directory"/>.</summary>
    Task<SnapshotDownload> DownloadAsync(string name, string directory, CancellationToken cancellationToken);

    /// <summary>Retention in S3 for one name prefix; <paramref name="nodeName"/> null counts every node's uploads.</summary>
    Task<IReadOnlyList<(S3SnapshotObject Object, S3DeleteResult Result)>> PruneAsync(string prefix, int keep, string? nodeName, CancellationToken cancellationToken);

    /// <summary>Deletes a snapshot object and its metadata object.</summary>
    Task<S3DeleteResult> DeleteAsync(string name, CancellationToken cancellationToken);
}

/// <summary>What a delete in S3 came to.</summary>
internal enum S3DeleteOutcome
{
    Deleted,
    NotFound,
    Locked,
}

/// <summary>A delete's outcome; for <see cref="S3DeleteOutcome.Locked"/>, until when the lock holds (when S3 says).</summary>
internal sealed record S3DeleteResult(S3DeleteOutcome Outcome, DateTimeOffset? LockedUntil)
{
    public string Describe(string location) => Outcome switch
    {
        S3DeleteOutcome.Locked => $"kept: {location} is protected by Object Lock" + (LockedUntil is { } until ? $" until {until:yyyy-MM-ddTHH:mm:ssZ}" : ""),
        S3DeleteOutcome.NotFound => $"not found: {location}",
        _ => $"deleted from {location}",
    };
}

/// <summary>
/// One snapshot object in the bucket, with what its metadata says: our sidecar (<see cref="Metadata"/>)
/// or, without one, K3s's object metadata (<see cref="NodeName"/>, <see cref="TokenHash"/> from
/// <c>&lt;rt&gt;-node-name</c>, <c>&lt;rt&gt;-token-hash</c>) and K3s's own sidecar where it wrote one.
/// </summary>
internal sealed record S3SnapshotObject(string Name, string Key, long Size, DateTimeOffset LastModified, string NodeName, SnapshotMetadata? Metadata,
    RuntimeSnapshotMetadata? RuntimeMetadata = null, string TokenHash = "")
{
    public string Location(string bucket) => $"s3://{bucket}/{Key}";
}

/// <summary>A downloaded snapshot: the file as stored in S3 (its sha256 taken as it was written) and the plain snapshot a restore uses (the same file, or a zip's unpacked entry).</summary>
internal sealed record SnapshotDownload(SnapshotFileInfo Downloaded, string RestorablePath);

/// <summary>The S3 target failed; the message says what to fix where it can tell.</summary>
internal sealed class S3TargetException(string message, Exception? inner = null) : Exception(message, inner);
