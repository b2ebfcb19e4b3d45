using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Agent.Snapshots;
using Polly;

namespace NodeAgent.Agent.S3;

/// <summary>The check before a save that the target can take a snapshot; nothing is written.</summary>
internal sealed class S3Preflight(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry)
{
    /// <summary>
    /// Before a save: the bucket exists and List, Get and Delete are allowed, each named when it is
    /// not. Nothing is written (a probe object would stay for good in an Object-Lock bucket, and
    /// deleting a specific version never leaves a delete marker); Put is proven by the upload itself.
    /// Returns whether parts must carry Content-MD5 (the bucket has Object Lock, or will not say).
    /// </summary>
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
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
        return await HasObjectLockAsync(cancellationToken);
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
}
