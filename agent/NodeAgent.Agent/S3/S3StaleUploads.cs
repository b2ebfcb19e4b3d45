using Amazon.S3;
using Polly;

namespace NodeAgent.Agent.S3;

/// <summary>Aborts the multipart uploads that earlier runs of this node left behind, as its <see cref="MultipartJournal"/> lists them.</summary>
internal sealed class S3StaleUploads(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry, ILogger logger, MultipartJournal? journal)
{
    /// <summary>
    /// Aborts this node's multipart uploads that an earlier run left behind (its process died, or
    /// S3 was away when it tried to abort), so no orphan parts stay in the bucket. Returns how many
    /// were aborted; one that still cannot be aborted stays journaled for the next run.
    /// </summary>
    public async Task<int> AbortAsync(CancellationToken cancellationToken)
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
                S3StoreLog.LogStaleUploadAborted(logger, upload.Key, upload.UploadId);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
            {
                // Completed or aborted after all.
            }
            catch (Exception ex) when (S3Errors.CannotAbort(ex))
            {
                S3StoreLog.LogCannotAbort(logger, settings.Endpoint, upload.Key, upload.UploadId);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                S3StoreLog.LogStaleUploadKept(logger, upload.Key, upload.UploadId, S3Errors.Describe(ex, settings));
                continue;
            }
            File.Delete(path);
        }
        return aborted;
    }
}
