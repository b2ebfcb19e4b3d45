namespace NodeAgent.Agent.Snapshots;

/// <summary>Where one node keeps its snapshots: the local dir and, when it has one, its S3 target.</summary>
internal sealed record SnapshotStores(LocalSnapshotStore Local, IS3SnapshotStore? S3);

/// <summary>What came of one snapshot's S3 copy: its location, or why it is not there (yet).</summary>
internal sealed record UploadReport(string Name, string? Location, string? Failure)
{
    public bool Succeeded => Failure is null;
}

/// <summary>
/// A save with its S3 copy: the saved snapshot (or why it was skipped), when the file was saved,
/// what came of its S3 copy (null without S3), and the earlier failed or pending uploads caught up after it.
/// </summary>
internal sealed record SnapshotSaveOutcome(SnapshotSaveResult Result, DateTimeOffset SavedAt, UploadReport? Upload, IReadOnlyList<UploadReport> CaughtUp);

/// <summary>What retention deleted (or found kept by Object Lock): local file names, and S3 objects.</summary>
internal sealed record SnapshotPruneResult(IReadOnlyList<string> Local, IReadOnlyList<(S3SnapshotObject Object, S3DeleteResult Result)> S3)
{
    /// <summary>Why the S3 side failed (the local copies in <see cref="Local"/> are gone all the same); null when it did not.</summary>
    public string? S3Failure { get; init; }
}

/// <summary>What a delete found: whether a local copy went, and what came of the S3 copy (null: no S3 target, or not there).</summary>
internal sealed record SnapshotDeleteResult(bool LocalDeleted, S3DeleteResult? S3)
{
    /// <summary>Why the S3 copy's delete failed (a local copy is gone all the same); null when it did not.</summary>
    public string? S3Failure { get; init; }
}

/// <summary>
/// The snapshot feature, for <c>etcd-snapshot</c> and the daemon alike: preflight, the save with
/// its upload alongside (a zip uploads once made), the sidecar written once with where the S3 copy
/// stands, the catch-up of earlier failed or pending uploads, retention and deletes, locally and in
/// S3. S3 never costs the local snapshot: when S3 fails the snapshot stays, its sidecar says why,
/// and the next save that reaches S3 uploads it. Callers choose the stores and say what came of it.
/// </summary>
internal sealed class SnapshotManager(SnapshotSaver saver, TimeProvider time)
{
    /// <summary>Saves one snapshot; with S3, uploads it and then the node's earlier uploads still to make.</summary>
    public async Task<SnapshotSaveOutcome> SaveAsync(SnapshotSaveRequest request, SnapshotStores stores, Action<long, long>? onProgress, CancellationToken cancellationToken)
    {
        if (stores.S3 is not { } s3)
        {
            var saved = await saver.SaveAsync(request, onProgress, cancellationToken);
            return new SnapshotSaveOutcome(saved, time.GetUtcNow(), null, []);
        }
        // S3 that cannot take the snapshot never costs the local one: it is saved anyway, marked failed.
        var preflightFailure = await PreflightAsync(s3, cancellationToken);
        DateTimeOffset? savedAt = null;
        async Task<UploadState> FinishAsync(SnapshotSaveResult result, CancellationToken ct)
        {
            savedAt = time.GetUtcNow();
            return await FinishUploadAsync(s3, result, preflightFailure, ct);
        }
        // An uncompressed snapshot uploads while it is saved; a zip uploads once made.
        Func<string, ISnapshotTee>? tee = preflightFailure is null ? fileName => s3.StartUpload(fileName, request) : null;
        var result = await saver.SaveAsync(request, onProgress, cancellationToken, tee, FinishAsync);
        if (result.Skipped)
        {
            return new SnapshotSaveOutcome(result, time.GetUtcNow(), null, []);
        }
        var m = result.Metadata!;
        var report = m.S3Upload.Status == UploadStatus.Uploaded
            ? new UploadReport(m.Name, s3.LocationOf(m.Name), null)
            : new UploadReport(m.Name, null, m.S3Upload.Reason);
        var caughtUp = report.Succeeded ? await UploadPendingAsync(stores.Local, s3, request.NodeName, cancellationToken) : [];
        return new SnapshotSaveOutcome(result, savedAt ?? time.GetUtcNow(), report, caughtUp);
    }

    /// <summary>
    /// Aborts multipart uploads earlier runs left behind, then uploads this node's snapshots whose
    /// upload failed or was cut short (their sidecar says so), oldest first.
    /// </summary>
    public static async Task<IReadOnlyList<UploadReport>> UploadPendingAsync(LocalSnapshotStore local, IS3SnapshotStore s3, string nodeName, CancellationToken cancellationToken)
    {
        await s3.AbortStaleUploadsAsync(cancellationToken);
        var pending = local.List()
            .Where(s => s.Metadata is { } m && m.S3Upload.NeedsUpload && m.NodeName == nodeName)
            .Reverse()
            .ToList();
        var reports = new List<UploadReport>();
        foreach (var snapshot in pending)
        {
            var metadata = snapshot.Metadata! with { S3Upload = UploadState.Uploaded };
            try
            {
                await s3.UploadAsync(Path.Combine(local.Directory, snapshot.Name), metadata, cancellationToken);
                local.Sidecars.Write(metadata);
                reports.Add(new UploadReport(snapshot.Name, s3.LocationOf(snapshot.Name), null));
            }
            catch (S3TargetException ex)
            {
                reports.Add(new UploadReport(snapshot.Name, null, ex.Message));
            }
        }
        return reports;
    }

    /// <summary>
    /// Retention for one name prefix: locally beyond <paramref name="keepLocal"/>, and in S3 beyond
    /// <paramref name="keepS3"/>, counting only <paramref name="nodeScope"/>'s uploads when given
    /// (else every node's, as K3s does). A missing local dir is an error unless
    /// <paramref name="missingDirIsEmpty"/> (the daemon's node that has not saved yet).
    /// </summary>
    public static async Task<SnapshotPruneResult> PruneAsync(SnapshotStores stores, string prefix, int keepLocal, int keepS3, string? nodeScope, bool missingDirIsEmpty,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<string> local = missingDirIsEmpty && !Directory.Exists(stores.Local.Directory) ? [] : stores.Local.Prune(prefix, keepLocal);
        if (stores.S3 is not { } store)
        {
            return new SnapshotPruneResult(local, []);
        }
        try
        {
            return new SnapshotPruneResult(local, await store.PruneAsync(prefix, keepS3, nodeScope, cancellationToken));
        }
        catch (S3TargetException ex)
        {
            return new SnapshotPruneResult(local, []) { S3Failure = ex.Message };
        }
    }

    /// <summary>Deletes a snapshot's local copy (with its sidecar) and its S3 copy (with its metadata object), where they are.</summary>
    public static async Task<SnapshotDeleteResult> DeleteAsync(SnapshotStores stores, string name, CancellationToken cancellationToken)
    {
        SnapshotNames.ValidateFileName(name);
        var localDeleted = false;
        if (File.Exists(Path.Combine(stores.Local.Directory, name)))
        {
            stores.Local.Delete([name]);
            localDeleted = true;
        }
        S3DeleteResult? s3;
        try
        {
            s3 = stores.S3 is { } store ? await store.DeleteAsync(name, cancellationToken) : null;
        }
        catch (S3TargetException ex)
        {
            return new SnapshotDeleteResult(localDeleted, null) { S3Failure = ex.Message };
        }
        return new SnapshotDeleteResult(localDeleted, s3 is { Outcome: S3DeleteOutcome.NotFound } ? null : s3);
    }

    /// <summary>Null when the target can take a snapshot, else what is wrong with it.</summary>
    public static async Task<string?> PreflightAsync(IS3SnapshotStore s3, CancellationToken cancellationToken)
    {
        try
        {
            await s3.PreflightAsync(cancellationToken);
            return null;
        }
        catch (S3TargetException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>After the save, before its sidecar: completes the S3 copy (uploads a zip, writes the metadata object); a failure is the state's reason.</summary>
    private static async Task<UploadState> FinishUploadAsync(IS3SnapshotStore s3, SnapshotSaveResult result, string? preflightFailure, CancellationToken cancellationToken)
    {
        var m = result.Metadata! with { S3Upload = UploadState.Uploaded };
        if (preflightFailure is not null)
        {
            return UploadState.Failed(preflightFailure);
        }
        if (!m.Compressed && result.TeeFailure is { } failure)
        {
            return UploadState.Failed($"upload of {m.Name} to {s3.LocationOf(m.Name)} failed: {failure}");
        }
        try
        {
            if (m.Compressed)
            {
                await s3.UploadAsync(result.Path!, m, cancellationToken);
            }
            else
            {
                await s3.PutMetadataAsync(m, cancellationToken);
            }
            return UploadState.Uploaded;
        }
        catch (S3TargetException ex)
        {
            return UploadState.Failed(ex.Message);
        }
    }
}
