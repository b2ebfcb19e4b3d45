using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;

namespace NodeAgent.Server.S3;

/// <summary>
/// <see cref="IS3SnapshotFolder"/> on the AWS SDK: one client per listing (its target's CA, proxy
/// and keys), every request through <see cref="S3ListingRetry"/>, bounded by the target's timeout.
/// </summary>
internal sealed class AwsS3SnapshotFolder(TimeProvider time) : IS3SnapshotFolder
{
    public async Task<IReadOnlyList<S3SnapshotObject>> ListAsync(S3Target target, CancellationToken cancellationToken)
    {
        Exception? retried = null;
        var retry = S3ListingRetry.Build(time, target.Timeout, ex => retried = ex);
        var result = new List<S3SnapshotObject>();
        try
        {
            using var s3 = S3ClientFactory.Create(target);
            var request = new ListObjectsV2Request { BucketName = target.Bucket, Prefix = target.FolderPrefix };
            ListObjectsV2Response page;
            do
            {
                page = await retry.ExecuteAsync(async ct => await s3.ListObjectsV2Async(request, ct), cancellationToken);
                foreach (var o in page.S3Objects ?? [])
                {
                    var name = o.Key[target.FolderPrefix.Length..];
                    if (!IsSnapshotFile(name))
                    {
                        continue;
                    }
                    var sidecar = await ReadSidecarAsync(s3, retry, target, name, cancellationToken);
                    // Without a sidecar of ours (none, or K3s's own extra metadata), K3s's object metadata names the node.
                    var objectMetadata = sidecar is null || !S3SnapshotObject.IsOurSidecar(sidecar)
                        ? await ReadObjectMetadataAsync(s3, retry, target, o.Key, cancellationToken)
                        : new Dictionary<string, string>();
                    var lastModified = o.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue;
                    result.Add(new S3SnapshotObject(name, o.Key, o.Size ?? 0, lastModified, sidecar, objectMetadata));
                }
                request.ContinuationToken = page.NextContinuationToken;
            }
            while (page.IsTruncated == true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var reason = S3ErrorText.Describe(ex, target);
            if (ex is Polly.Timeout.TimeoutRejectedException && retried is not null)
            {
                // A refused connection retried until the timeout: say what the server did, not only that time ran out.
                reason += $"; last error: {S3ErrorText.Describe(retried, target)}";
            }
            throw new S3ListingException($"listing {target} failed: {reason}", ex);
        }
        return result;
    }

    /// <summary>
    /// What the agents list (every file directly in the folder that is not hidden nor a <c>.part</c>),
    /// within the catalog's rule for names (1-200 characters, no control characters).
    /// </summary>
    public static bool IsSnapshotFile(string name)
        => name.Length is > 0 and <= 200 && !name.StartsWith('.') && !name.Contains('/', StringComparison.Ordinal)
            && !name.Contains('\\', StringComparison.Ordinal) && !name.EndsWith(".part", StringComparison.Ordinal) && !name.Any(char.IsControl);

    private static async Task<IReadOnlyDictionary<string, string>?> ReadSidecarAsync(IAmazonS3 s3, Polly.ResiliencePipeline retry, S3Target target, string name, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await retry.ExecuteAsync(async ct => await s3.GetObjectAsync(target.Bucket, target.MetadataKeyOf(name), ct), cancellationToken);
            using var document = await JsonDocument.ParseAsync(response.ResponseStream, cancellationToken: cancellationToken);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }
            // A flat map of strings (K3s's extra-metadata map); other values are not ours and are skipped.
            return document.RootElement.EnumerateObject()
                .Where(p => p.Value.ValueKind == JsonValueKind.String)
                .GroupBy(p => p.Name, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Last().Value.GetString()!, StringComparer.Ordinal);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static async Task<IReadOnlyDictionary<string, string>> ReadObjectMetadataAsync(IAmazonS3 s3, Polly.ResiliencePipeline retry, S3Target target, string key, CancellationToken cancellationToken)
    {
        var head = await retry.ExecuteAsync(async ct => await s3.GetObjectMetadataAsync(target.Bucket, key, ct), cancellationToken);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var k in head.Metadata.Keys)
        {
            var bare = k.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? k["x-amz-meta-".Length..] : k;
            map[bare.ToLowerInvariant()] = head.Metadata[k];
        }
        return map;
    }
}
