using System.Buffers;
using System.Text.Json;
using Amazon.S3;
using NodeAgent.Agent.Snapshots;
using Polly;

namespace NodeAgent.Agent.S3;

/// <summary>
/// Uploads into the folder: every upload goes through <see cref="S3StreamingUpload"/> (parts in
/// parallel with bounded memory, each signed, with Content-MD5 where Object Lock needs it, aborted
/// on failure so no parts are left behind), then the metadata object.
/// </summary>
internal sealed class S3SnapshotUploader(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry, ILogger logger, MultipartJournal? journal)
{
    /// <summary>
    /// Whether parts carry Content-MD5: Object-Lock buckets refuse parts without it. True until a
    /// preflight has seen that the bucket has no Object Lock.
    /// </summary>
    public bool ContentMd5 { get; set; } = true;

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
        S3StoreLog.LogUploaded(logger, name, settings.Bucket, key, length);
        return new S3SnapshotObject(name, key, length, metadata.CreatedAt, metadata.NodeName, metadata);
    }

    /// <summary>An upload that runs alongside a save (see <see cref="S3StreamingUpload"/>); its metadata object follows with <see cref="PutMetadataAsync"/>.</summary>
    public S3StreamingUpload StartUpload(string fileName, SnapshotSaveRequest request)
        => new(s3, settings, retry, fileName, S3Objects.UserMetadata(Config.RuntimeNaming.NameOrEmpty(request.Runtime), request.NodeName, request.Cluster, request.TokenHash), journal, ContentMd5);

    /// <summary>The metadata object <c>&lt;folder&gt;/.metadata/&lt;file&gt;</c>: the sidecar's JSON.</summary>
    public async Task PutMetadataAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(metadata.ToMap(), SnapshotJsonContext.Default.DictionaryStringString);
        try
        {
            var userMetadata = S3Objects.UserMetadata(metadata);
            await retry.ExecuteAsync(async ct => await S3Objects.PutAsync(s3,
                S3Objects.Put(settings, settings.MetadataKeyOf(metadata.Name), json, json.Length, "application/json", userMetadata, ContentMd5), ct), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new S3TargetException($"upload of {metadata.Name}'s metadata to s3://{settings.Bucket}/{settings.MetadataKeyOf(metadata.Name)} failed: {S3Errors.Describe(ex, settings)}", ex);
        }
    }
}
