using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Agent.Snapshots;
using Polly;

namespace NodeAgent.Agent.S3;

/// <summary>What is in the folder: the snapshots with their sidecars (ours or K3s's) or K3s's object metadata.</summary>
internal sealed class S3SnapshotCatalog(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry)
{
    /// <summary>Every snapshot directly in the folder (not in subfolders, not the metadata objects), newest first.</summary>
    public async Task<IReadOnlyList<S3SnapshotObject>> ListAsync(CancellationToken cancellationToken)
    {
        var result = new List<S3SnapshotObject>();
        try
        {
            var request = new ListObjectsV2Request { BucketName = settings.Bucket, Prefix = settings.FolderPrefix };
            ListObjectsV2Response page;
            do
            {
                page = await retry.ExecuteAsync(async ct => await s3.ListObjectsV2Async(request, ct), cancellationToken);
                foreach (var o in page.S3Objects ?? [])
                {
                    var name = o.Key[settings.FolderPrefix.Length..];
                    if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal) || !LocalSnapshotStore.IsSnapshotFile(name))
                    {
                        continue;
                    }
                    var lastModified = o.LastModified is { } modified ? new DateTimeOffset(modified.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue;
                    var map = await ReadSidecarMapAsync(name, cancellationToken);
                    if (map is not null && SnapshotMetadata.IsOurs(map))
                    {
                        var metadata = SnapshotMetadata.FromMap(map, name);
                        result.Add(new S3SnapshotObject(name, o.Key, o.Size ?? 0, lastModified, metadata.NodeName, metadata, TokenHash: metadata.TokenHash));
                        continue;
                    }
                    // K3s's upload (no sidecar of ours, N+1 only for these): its object metadata names the node, as K3s reads it.
                    if (await ReadK3sObjectMetadataAsync(o.Key, cancellationToken) is { } k3s)
                    {
                        result.Add(new S3SnapshotObject(name, o.Key, o.Size ?? 0, lastModified, k3s.NodeName, null, map is null ? null : RuntimeSnapshotMetadata.FromMap(map), k3s.TokenHash));
                    }
                }
                request.ContinuationToken = page.NextContinuationToken;
            }
            while (page.IsTruncated == true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new S3TargetException($"listing s3://{settings.Bucket}/{settings.FolderPrefix} failed: {S3Errors.Describe(ex, settings)}", ex);
        }
        return result.OrderByDescending(o => SnapshotNames.CreatedFromName(o.Name) ?? o.LastModified).ThenByDescending(o => o.Name, StringComparer.Ordinal).ToList();
    }

    /// <summary>Our sidecar of a snapshot; null when it has none or the sidecar is K3s's own.</summary>
    public async Task<SnapshotMetadata?> ReadMetadataAsync(string name, CancellationToken cancellationToken)
        => await ReadSidecarMapAsync(name, cancellationToken) is { } map && SnapshotMetadata.IsOurs(map) ? SnapshotMetadata.FromMap(map, name) : null;

    /// <summary>K3s's <c>&lt;rt&gt;-node-name</c> and <c>&lt;rt&gt;-token-hash</c> object metadata ("" where absent); null when the object went meanwhile.</summary>
    private async Task<(string NodeName, string TokenHash)?> ReadK3sObjectMetadataAsync(string key, CancellationToken cancellationToken)
    {
        GetObjectMetadataResponse head;
        try
        {
            head = await retry.ExecuteAsync(async ct => await s3.GetObjectMetadataAsync(settings.Bucket, key, ct), cancellationToken);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var k in head.Metadata.Keys)
        {
            var bare = k.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? k["x-amz-meta-".Length..] : k;
            map[bare.ToLowerInvariant()] = head.Metadata[k];
        }
        string Of(string suffix) => Config.RuntimeNaming.Names.Select(rt => map.GetValueOrDefault($"{rt}-{suffix}", "")).FirstOrDefault(v => v.Length > 0) ?? "";
        return (Of("node-name"), Of("token-hash"));
    }

    private async Task<Dictionary<string, string>?> ReadSidecarMapAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await retry.ExecuteAsync(async ct => await s3.GetObjectAsync(settings.Bucket, settings.MetadataKeyOf(name), ct), cancellationToken);
            return await JsonSerializer.DeserializeAsync(response.ResponseStream, SnapshotJsonContext.Default.DictionaryStringString, cancellationToken);
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
}
