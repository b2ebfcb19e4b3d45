namespace NodeAgent.Agent.S3;

/// <summary>The S3 snapshot store's log lines (category <see cref="S3SnapshotStore"/>), for all of its parts.</summary>
internal static partial class S3StoreLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Uploaded {Name} to s3://{Bucket}/{Key} ({Bytes} bytes)")]
    public static partial void LogUploaded(ILogger logger, string name, string bucket, string key, long bytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Aborted the multipart upload {UploadId} of {Key} that an earlier run left behind")]
    public static partial void LogStaleUploadAborted(ILogger logger, string key, string uploadId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "S3 at {Endpoint} cannot abort multipart uploads; the parts of upload {UploadId} of {Key} stay on that server")]
    public static partial void LogCannotAbort(ILogger logger, string endpoint, string key, string uploadId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not abort the left-behind multipart upload {UploadId} of {Key} yet: {Reason}; trying again next run")]
    public static partial void LogStaleUploadKept(ILogger logger, string key, string uploadId, string reason);
}
