namespace NodeAgent.Agent.Snapshots;

/// <summary>Where a snapshot's S3 copy stands.</summary>
internal enum UploadStatus
{
    /// <summary>No S3 copy was asked for.</summary>
    None,

    /// <summary>Asked for, not made yet: the save ended (stopped) before its upload did.</summary>
    Pending,

    Uploaded,

    Failed,
}

/// <summary>
/// A snapshot's S3 copy as its sidecar records it (<c>s3Upload</c>): <c>""</c>, <c>"uploaded"</c>,
/// <c>"upload failed: &lt;reason&gt;"</c> or <c>"upload pending"</c>. A failed or pending copy is
/// uploaded by a later save (<see cref="NeedsUpload"/>).
/// </summary>
internal readonly record struct UploadState(UploadStatus Status, string Reason = "")
{
    private const string FailedPrefix = "upload failed: ";
    private const string PendingText = "upload pending";
    private const string UploadedText = "uploaded";

    public static UploadState None => default;

    public static UploadState Uploaded => new(UploadStatus.Uploaded);

    public static UploadState Pending => new(UploadStatus.Pending);

    public static UploadState Failed(string reason) => new(UploadStatus.Failed, reason);

    /// <summary>Whether a later save should upload it.</summary>
    public bool NeedsUpload => Status is UploadStatus.Failed or UploadStatus.Pending;

    /// <summary>The sidecar's text.</summary>
    public override string ToString() => Status switch
    {
        UploadStatus.Uploaded => UploadedText,
        UploadStatus.Failed => FailedPrefix + Reason,
        UploadStatus.Pending => PendingText,
        _ => "",
    };

    /// <summary>Reads a sidecar's text; text we never write is kept as a failure's reason, so that copy is uploaded again.</summary>
    public static UploadState Parse(string text) => text switch
    {
        "" => None,
        UploadedText => Uploaded,
        PendingText => Pending,
        _ when text.StartsWith(FailedPrefix, StringComparison.Ordinal) => Failed(text[FailedPrefix.Length..]),
        _ => Failed(text),
    };
}
