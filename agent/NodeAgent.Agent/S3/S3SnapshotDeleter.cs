using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Agent.Snapshots;
using Polly;

namespace NodeAgent.Agent.S3;

/// <summary>Deletes in the folder: one snapshot with its metadata object, or retention's oldest beyond a count.</summary>
internal sealed class S3SnapshotDeleter(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry, S3SnapshotCatalog catalog)
{
    /// <summary>
    /// Retention in S3: deletes the oldest snapshots named <c>&lt;prefix&gt;-…</c> beyond the newest
    /// <paramref name="keep"/> (below 1: none), counting only <paramref name="nodeName"/>'s uploads
    /// when given (scope node) or every node's (scope cluster, K3s's behaviour). Returns what each
    /// delete came to; an object under Object Lock is reported as kept, not hidden.
    /// </summary>
    public async Task<IReadOnlyList<(S3SnapshotObject Object, S3DeleteResult Result)>> PruneAsync(string prefix, int keep, string? nodeName, CancellationToken cancellationToken)
    {
        if (keep < 1)
        {
            return [];
        }
        var doomed = (await catalog.ListAsync(cancellationToken))
            .Where(o => SnapshotNames.HasPrefix(o.Name, prefix) && (nodeName is null || o.NodeName == nodeName))
            .Skip(keep)
            .ToList();
        var results = new List<(S3SnapshotObject, S3DeleteResult)>();
        foreach (var o in doomed)
        {
            var deleted = await DeleteAsync(o.Name, cancellationToken);
            if (deleted.Outcome != S3DeleteOutcome.NotFound)
            {
                results.Add((o, deleted));
            }
        }
        return results;
    }

    /// <summary>
    /// Deletes a snapshot object and its metadata object. In a versioned (Object Lock) bucket the
    /// current version itself is deleted, not hidden behind a delete marker; a version the lock
    /// still protects is reported as <see cref="S3DeleteOutcome.Locked"/> with its retain-until date.
    /// </summary>
    public async Task<S3DeleteResult> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        SnapshotNames.ValidateFileName(name);
        try
        {
            GetObjectMetadataResponse head;
            try
            {
                head = await retry.ExecuteAsync(async ct => await s3.GetObjectMetadataAsync(settings.Bucket, settings.KeyOf(name), ct), cancellationToken);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                return new S3DeleteResult(S3DeleteOutcome.NotFound, null);
            }
            var versioned = head.VersionId is { Length: > 0 } id && id != "null";
            try
            {
                await retry.ExecuteAsync(async ct => await s3.DeleteObjectAsync(new DeleteObjectRequest
                {
                    BucketName = settings.Bucket,
                    Key = settings.KeyOf(name),
                    VersionId = versioned ? head.VersionId : null,
                }, ct), cancellationToken);
            }
            catch (AmazonS3Exception ex) when (versioned && ex.StatusCode == System.Net.HttpStatusCode.Forbidden)
            {
                return new S3DeleteResult(S3DeleteOutcome.Locked, head.ObjectLockRetainUntilDate is { } until ? new DateTimeOffset(until.ToUniversalTime(), TimeSpan.Zero) : null);
            }
            await DeleteMetadataObjectAsync(name, cancellationToken);
            return new S3DeleteResult(S3DeleteOutcome.Deleted, null);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new S3TargetException($"deleting s3://{settings.Bucket}/{settings.KeyOf(name)} failed: {S3Errors.Describe(ex, settings)}", ex);
        }
    }

    private async Task DeleteMetadataObjectAsync(string name, CancellationToken cancellationToken)
    {
        var key = settings.MetadataKeyOf(name);
        string? version = null;
        try
        {
            var head = await retry.ExecuteAsync(async ct => await s3.GetObjectMetadataAsync(settings.Bucket, key, ct), cancellationToken);
            version = head.VersionId is { Length: > 0 } id && id != "null" ? id : null;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return;
        }
        try
        {
            await retry.ExecuteAsync(async ct => await s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = settings.Bucket, Key = key, VersionId = version }, ct), cancellationToken);
        }
        catch (AmazonS3Exception ex) when (version is not null && ex.StatusCode == System.Net.HttpStatusCode.Forbidden)
        {
            // A locked metadata object stays with its locked snapshot version; nothing is hidden.
        }
    }
}
