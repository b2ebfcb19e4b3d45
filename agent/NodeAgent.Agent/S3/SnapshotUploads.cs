using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.S3;

/// <summary>What came of one snapshot's S3 copy: its location, or why it is not there (yet).</summary>
internal sealed record UploadReport(string Name, string? Location, string? Failure)
{
    public bool Succeeded => Failure is null;
}

/// <summary>
/// A save's S3 side, shared by <c>etcd-snapshot save --s3</c> and the daemon: preflight, the upload
/// that runs alongside the save (or after it, for a zip), the sidecar's <c>s3Upload</c> record, and
/// the catch-up of this node's earlier failed uploads. S3 never costs the local snapshot: when S3
/// fails, the snapshot stays, marked "upload failed: …", and <see cref="UploadPendingAsync"/> takes
/// it up again on the next run.
/// </summary>
internal sealed class SnapshotUploads(S3SnapshotStore store, LocalSnapshotStore local)
{
    public S3SnapshotStore Store => store;

    /// <summary>Null when the target can take a snapshot, else what is wrong with it.</summary>
    public async Task<string?> PreflightAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.PreflightAsync(cancellationToken);
            return null;
        }
        catch (S3TargetException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>The upload to run alongside the save, unless the preflight failed.</summary>
    public Func<string, ISnapshotTee>? TeeFor(SnapshotSaveRequest request, string? preflightFailure)
        => preflightFailure is null ? fileName => store.StartUpload(fileName, request) : null;

    /// <summary>After the save: completes the S3 copy (uploads a zip, writes the metadata object) and records the outcome in the sidecar.</summary>
    public async Task<UploadReport> FinishAsync(SnapshotSaveResult result, string? preflightFailure, CancellationToken cancellationToken)
    {
        var m = result.Metadata ?? throw new ArgumentException("the save was skipped", nameof(result));
        try
        {
            if (preflightFailure is not null)
            {
                throw new S3TargetException(preflightFailure);
            }
            if (m.Compressed)
            {
                await store.UploadAsync(result.Path!, m with { S3Upload = "uploaded" }, cancellationToken);
            }
            else if (result.TeeFailure is { } failure)
            {
                throw new S3TargetException($"upload of {m.Name} to {Location(m.Name)} failed: {failure}");
            }
            else
            {
                await store.PutMetadataAsync(m with { S3Upload = "uploaded" }, cancellationToken);
            }
            local.Sidecars.Write(m with { S3Upload = "uploaded" });
            return new UploadReport(m.Name, Location(m.Name), null);
        }
        catch (S3TargetException ex)
        {
            local.Sidecars.Write(m with { S3Upload = "upload failed: " + ex.Message });
            return new UploadReport(m.Name, null, ex.Message);
        }
    }

    /// <summary>
    /// Aborts multipart uploads earlier runs left behind, then uploads this node's snapshots whose
    /// upload failed (their sidecar says so), oldest first.
    /// </summary>
    public async Task<IReadOnlyList<UploadReport>> UploadPendingAsync(string nodeName, CancellationToken cancellationToken)
    {
        await store.AbortStaleUploadsAsync(cancellationToken);
        var pending = local.List()
            .Where(s => s.Metadata is { } m && m.S3Upload.StartsWith("upload failed", StringComparison.Ordinal) && m.NodeName == nodeName)
            .Reverse()
            .ToList();
        var reports = new List<UploadReport>();
        foreach (var snapshot in pending)
        {
            var metadata = snapshot.Metadata! with { S3Upload = "uploaded" };
            try
            {
                await store.UploadAsync(Path.Combine(local.Directory, snapshot.Name), metadata, cancellationToken);
                local.Sidecars.Write(metadata);
                reports.Add(new UploadReport(snapshot.Name, Location(snapshot.Name), null));
            }
            catch (S3TargetException ex)
            {
                reports.Add(new UploadReport(snapshot.Name, null, ex.Message));
            }
        }
        return reports;
    }

    private string Location(string name) => $"s3://{store.Settings.Bucket}/{store.Settings.KeyOf(name)}";
}
