using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Agent.Snapshots;
using Polly;

namespace NodeAgent.Agent.S3;

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

/// <summary>
/// Snapshots in S3, laid out as K3s lays them out: <c>&lt;folder&gt;/&lt;file&gt;</c> and
/// <c>&lt;folder&gt;/.metadata/&lt;file&gt;</c>, both with K3s's user metadata
/// (<c>&lt;runtime&gt;-cluster-id</c>, <c>-node-name</c>, <c>-token-hash</c>). Every upload goes
/// through <see cref="S3StreamingUpload"/>: parts in parallel with bounded memory, each signed
/// (and with Content-MD5 where Object Lock needs it), aborted on failure so no parts are left behind.
/// </summary>
internal sealed partial class S3SnapshotStore(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry, ILogger<S3SnapshotStore> logger, MultipartJournal? journal = null)
{
    public S3Settings Settings => settings;

    /// <summary>
    /// Whether parts carry Content-MD5: Object-Lock buckets refuse parts without it. True until a
    /// preflight has seen that the bucket has no Object Lock (MD5 costs a CPU pass over every byte,
    /// and each part's body is already proven by its signed SHA-256).
    /// </summary>
    public bool ContentMd5 { get; private set; } = true;

    /// <summary>
    /// Aborts this node's multipart uploads that an earlier run left behind (its process died, or
    /// S3 was away when it tried to abort), so no orphan parts stay in the bucket. Returns how many
    /// were aborted; one that still cannot be aborted stays journaled for the next run.
    /// </summary>
    public async Task<int> AbortStaleUploadsAsync(CancellationToken cancellationToken)
    {
        var aborted = 0;
        foreach (var (upload, path) in journal?.Stale() ?? [])
        {
            if (upload.Bucket != settings.Bucket)
            {
                continue;
            }
            try
            {
                await retry.ExecuteAsync(async ct => await s3.AbortMultipartUploadAsync(upload.Bucket, upload.Key, upload.UploadId, ct), cancellationToken);
                aborted++;
                LogStaleUploadAborted(logger, upload.Key, upload.UploadId);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
            {
                // Completed or aborted after all.
            }
            catch (Exception ex) when (S3Errors.CannotAbort(ex))
            {
                LogCannotAbort(logger, settings.Endpoint, upload.Key, upload.UploadId);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                LogStaleUploadKept(logger, upload.Key, upload.UploadId, S3Errors.Describe(ex, settings));
                continue;
            }
            File.Delete(path);
        }
        return aborted;
    }

    /// <summary>
    /// Uploads a local snapshot file (a zip, or one whose earlier upload failed) and then its metadata
    /// object, through the same part pipeline as an upload during a save.
    /// </summary>
    public async Task<S3SnapshotObject> UploadAsync(string path, SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        var name = Path.GetFileName(path);
        var key = settings.KeyOf(name);
        long length = 0;
        string? failure;
        await using (var upload = new S3StreamingUpload(s3, settings, retry, name, S3Objects.UserMetadata(metadata), journal, ContentMd5))
        {
            var buffer = ArrayPool<byte>.Shared.Rent(1024 * 1024);
            try
            {
                await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                int read;
                while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    await upload.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    length += read;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await upload.AbortAsync();
                throw new S3TargetException($"upload of {name} to s3://{settings.Bucket}/{key} failed: {S3Errors.Describe(ex, settings)}", ex);
            }
            catch
            {
                await upload.AbortAsync();
                throw;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            failure = await upload.CompleteAsync(cancellationToken);
        }
        if (failure is not null)
        {
            throw new S3TargetException($"upload of {name} to s3://{settings.Bucket}/{key} failed: {failure}");
        }
        await PutMetadataAsync(metadata, cancellationToken);
        LogUploaded(logger, name, settings.Bucket, key, length);
        return new S3SnapshotObject(name, key, length, metadata.CreatedAt, metadata.NodeName, metadata);
    }

    /// <summary>
    /// Before a save: the bucket exists and List, Get and Delete are allowed, each named when it is
    /// not. Nothing is written (a probe object would stay for good in an Object-Lock bucket, and
    /// deleting a specific version never leaves a delete marker); Put is proven by the upload itself.
    /// </summary>
    public async Task PreflightAsync(CancellationToken cancellationToken)
    {
        var probe = settings.KeyOf(".node-agent-preflight-absent");
        await CheckAsync("List", async ct => await s3.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = settings.Bucket,
            // No MaxKeys: s3rver answers 500 to a truncated ListObjectsV2 page.
            Prefix = settings.FolderPrefix,
        }, ct), cancellationToken);
        await CheckAsync("Get", async ct =>
        {
            try
            {
                await s3.GetObjectMetadataAsync(settings.Bucket, probe, ct);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                // Absent, and we were allowed to look: Get works.
            }
        }, cancellationToken);
        await CheckAsync("Delete", async ct => await s3.DeleteObjectAsync(new DeleteObjectRequest
        {
            BucketName = settings.Bucket,
            Key = probe,
            VersionId = "null",
        }, ct), cancellationToken);
        ContentMd5 = await HasObjectLockAsync(cancellationToken);
    }

    /// <summary>Object Lock on the bucket; true too when S3 will not say (no permission, not implemented): MD5 is the safe side.</summary>
    private async Task<bool> HasObjectLockAsync(CancellationToken cancellationToken)
    {
        try
        {
            var response = await retry.ExecuteAsync(async ct => await s3.GetObjectLockConfigurationAsync(
                new GetObjectLockConfigurationRequest { BucketName = settings.Bucket }, ct), cancellationToken);
            return response.ObjectLockConfiguration?.ObjectLockEnabled == ObjectLockEnabled.Enabled;
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "ObjectLockConfigurationNotFoundError")
        {
            return false;
        }
        catch (AmazonS3Exception)
        {
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Timed out or unreachable: not a store that will take the snapshot now.
            throw new S3TargetException($"S3 preflight (GetObjectLockConfiguration): {S3Errors.Describe(ex, settings)}", ex);
        }
    }

    private async Task CheckAsync(string permission, Func<CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        try
        {
            await retry.ExecuteAsync(async ct => await call(ct), cancellationToken);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "AccessDenied" || (ex.StatusCode == System.Net.HttpStatusCode.Forbidden && ex.ErrorCode is not ("InvalidAccessKeyId" or "SignatureDoesNotMatch")))
        {
            throw new S3TargetException($"S3 preflight: {permission} is not allowed on s3://{settings.Bucket}/{settings.FolderPrefix} for these credentials ({ex.ErrorCode})", ex);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new S3TargetException($"S3 preflight ({permission}): {S3Errors.Describe(ex, settings)}", ex);
        }
    }

    /// <summary>An upload that runs alongside a save (see <see cref="S3StreamingUpload"/>); its metadata object follows with <see cref="PutMetadataAsync"/>.</summary>
    public S3StreamingUpload StartUpload(string fileName, SnapshotSaveRequest request)
        => new(s3, settings, retry, fileName, S3Objects.UserMetadata(request.Runtime, request.NodeName, request.Cluster, request.TokenHash), journal, ContentMd5);

    /// <summary>The metadata object <c>&lt;folder&gt;/.metadata/&lt;file&gt;</c>: the sidecar's JSON.</summary>
    public async Task PutMetadataAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(metadata.ToMap(), SnapshotJsonContext.Default.DictionaryStringString);
        try
        {
            var userMetadata = S3Objects.UserMetadata(metadata);
            await retry.ExecuteAsync(async ct => await s3.PutObjectAsync(
                S3Objects.Put(settings, settings.MetadataKeyOf(metadata.Name), json, json.Length, "application/json", userMetadata), ct), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new S3TargetException($"upload of {metadata.Name}'s metadata to s3://{settings.Bucket}/{settings.MetadataKeyOf(metadata.Name)} failed: {S3Errors.Describe(ex, settings)}", ex);
        }
    }

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

    /// <summary>
    /// Downloads a snapshot for a restore into <paramref name="directory"/>: streamed to a .part file,
    /// checked against the sha256 in its metadata object and, for a plain snapshot, against etcd's own
    /// sha256 trailer; only then renamed. A <c>.zip</c> is also unpacked (entry base name only) and the
    /// unpacked snapshot checked the same way. Returns the file as downloaded (size and sha256, hashed
    /// as it was written) and the path of the snapshot a restore can use.
    /// </summary>
    public async Task<SnapshotDownload> DownloadAsync(string name, string directory, CancellationToken cancellationToken)
    {
        SnapshotNames.ValidateFileName(name);
        LinuxFiles.CreatePrivateDirectory(directory);
        var metadata = await ReadMetadataAsync(name, cancellationToken);
        var target = Path.Combine(directory, name);
        var zipped = name.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal);
        SnapshotFileInfo file;
        try
        {
            using var response = await retry.ExecuteAsync(async ct => await s3.GetObjectAsync(settings.Bucket, settings.KeyOf(name), ct), cancellationToken);
            file = zipped
                ? await CopyVerbatimAsync(response.ResponseStream, target, cancellationToken)
                : await SnapshotFileWriter.WriteVerifiedAsync(response.ResponseStream, target, cancellationToken);
        }
        catch (SnapshotStreamException ex)
        {
            throw new S3TargetException($"s3://{settings.Bucket}/{settings.KeyOf(name)} is not a whole etcd snapshot: {ex.Message}");
        }
        catch (Exception ex) when (ex is AmazonS3Exception or HttpRequestException or IOException or Polly.Timeout.TimeoutRejectedException && ex is not SnapshotRequestException)
        {
            throw new S3TargetException($"download of s3://{settings.Bucket}/{settings.KeyOf(name)} failed: {S3Errors.Describe(ex, settings)}", ex);
        }
        if (metadata is { Sha256.Length: > 0 } && metadata.Sha256 != file.Sha256)
        {
            File.Delete(file.Path);
            throw new S3TargetException($"s3://{settings.Bucket}/{settings.KeyOf(name)} has sha256 {file.Sha256}, its metadata says {metadata.Sha256}: not restoring from it");
        }
        if (!zipped)
        {
            return new SnapshotDownload(file, file.Path);
        }
        try
        {
            var unpacked = await SnapshotZip.ExtractAsync(file.Path, directory, cancellationToken);
            if (metadata is { SnapshotSha256.Length: > 0 } && metadata.SnapshotSha256 != unpacked.Sha256)
            {
                File.Delete(unpacked.Path);
                throw new S3TargetException($"the snapshot in {name} has sha256 {unpacked.Sha256}, its metadata says {metadata.SnapshotSha256}");
            }
            return new SnapshotDownload(file, unpacked.Path);
        }
        catch (SnapshotStreamException ex)
        {
            throw new S3TargetException($"the snapshot in {name} is not a whole etcd snapshot: {ex.Message}");
        }
    }

    /// <summary>
    /// Deletes a snapshot object and its metadata object. In a versioned (Object Lock) bucket the
    /// current version itself is deleted, not hidden behind a delete marker; a version the lock
    /// still protects is reported as <see cref="S3DeleteOutcome.Locked"/> with its retain-until date.
    /// </summary>
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
        var doomed = (await ListAsync(cancellationToken))
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

    /// <summary>Our sidecar of a snapshot; null when it has none or the sidecar is K3s's own.</summary>
    private async Task<SnapshotMetadata?> ReadMetadataAsync(string name, CancellationToken cancellationToken)
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
        string Of(string suffix) => S3Objects.Runtimes.Select(rt => map.GetValueOrDefault($"{rt}-{suffix}", "")).FirstOrDefault(v => v.Length > 0) ?? "";
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

    /// <summary>Any bytes into a file through a .part name, with their sha256.</summary>
    private static async Task<SnapshotFileInfo> CopyVerbatimAsync(Stream source, string target, CancellationToken cancellationToken)
    {
        if (File.Exists(target))
        {
            throw new SnapshotRequestException($"{target} already exists");
        }
        var part = target + SnapshotNames.PartSuffix;
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length = 0;
            await using (var output = new FileStream(part, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                BufferSize = 1024 * 1024,
            }))
            {
                var buffer = new byte[1024 * 1024];
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer.AsSpan(0, read));
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    length += read;
                }
                await output.FlushAsync(cancellationToken);
                output.Flush(flushToDisk: true);
            }
            File.Move(part, target);
            return new SnapshotFileInfo(target, length, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        catch
        {
            File.Delete(part);
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Uploaded {Name} to s3://{Bucket}/{Key} ({Bytes} bytes)")]
    private static partial void LogUploaded(ILogger logger, string name, string bucket, string key, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Aborted the multipart upload {UploadId} of {Key} that an earlier run left behind")]
    private static partial void LogStaleUploadAborted(ILogger logger, string key, string uploadId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "S3 at {Endpoint} cannot abort multipart uploads; the parts of upload {UploadId} of {Key} stay on that server")]
    private static partial void LogCannotAbort(ILogger logger, string endpoint, string key, string uploadId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not abort the left-behind multipart upload {UploadId} of {Key} yet: {Reason}; trying again next run")]
    private static partial void LogStaleUploadKept(ILogger logger, string key, string uploadId, string reason);
}
