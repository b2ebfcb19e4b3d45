using System.Net;
using System.Security.Authentication;
using Amazon.Runtime;
using Amazon.S3;
using Polly.Timeout;

namespace NodeAgent.Agent.S3;

/// <summary>Turns SDK and transport errors into one line an on-call engineer can act on.</summary>
internal static class S3Errors
{
    public static string Describe(Exception ex, S3Settings settings) => ex switch
    {
        TimeoutRejectedException => TimedOut(settings),
        // Our own read deadline on an answer's body: a body that stopped coming is a timeout, not a
        // broken connection (the cancelled read it carries holds the transport's IOException).
        S3BodyStalledException stalled => TimedOut(settings.Endpoint, stalled.Idle),
        S3BodyMismatchException mismatch => $"S3 at {settings.Endpoint}: {mismatch.Message}",
        AmazonS3Exception { ErrorCode: "InvalidAccessKeyId" } => $"S3 at {settings.Endpoint} does not know the access key (InvalidAccessKeyId)",
        AmazonS3Exception { ErrorCode: "SignatureDoesNotMatch" } => $"S3 at {settings.Endpoint} rejected the secret key (SignatureDoesNotMatch)",
        AmazonS3Exception { ErrorCode: "NoSuchBucket" } => $"bucket \"{settings.Bucket}\" does not exist at {settings.Endpoint}",
        AmazonS3Exception { ErrorCode: "AccessDenied" } s3 => $"S3 at {settings.Endpoint} denied access to bucket \"{settings.Bucket}\" ({s3.Message})",
        AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } s3 => $"S3 at {settings.Endpoint} refused the credentials ({s3.ErrorCode}: {s3.Message})",
        AmazonS3Exception s3 => $"S3 at {settings.Endpoint} answered {(int)s3.StatusCode} {s3.ErrorCode}: {s3.Message}",
        _ when Find<AuthenticationException>(ex) is not null
            => $"TLS with {settings.Endpoint} failed: its certificate is not trusted (give its CA with --s3-endpoint-ca, or --s3-insecure for plain http)",
        _ when BrokeMidTransfer(ex) is { } reason => $"S3 at {settings.Endpoint}: the connection broke mid-transfer ({reason})",
        _ when Find<HttpRequestException>(ex) is { } http => $"S3 at {settings.Endpoint} is not reachable: {http.Message}",
        AmazonClientException client when client.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase)
            => $"no S3 credentials: give --s3-access-key/--s3-secret-key (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or run where the SDK's default chain finds some ({FirstLine(client.Message)})",
        TimeoutException or TaskCanceledException => TimedOut(settings),
        _ => $"S3 at {settings.Endpoint}: {FirstLine(ex.Message)}",
    };

    /// <summary>A request (with its retries) outlived <c>--s3-timeout</c>: the server is hung or too slow.</summary>
    public static string TimedOut(S3Settings settings) => TimedOut(settings.Endpoint, settings.Timeout);

    private static string TimedOut(string endpoint, TimeSpan timeout) => $"S3 at {endpoint} timed out after {S3Settings.Format(timeout)} (--s3-timeout)";

    /// <summary>A whole upload outlived its deadline.</summary>
    public static string UploadTimedOut(S3Settings settings)
        => $"the upload did not finish within {S3Settings.Format(settings.UploadDeadline)} (--s3-upload-timeout)";

    /// <summary>
    /// Why a connection that was made broke while a request or its answer was under way (reset by the
    /// peer, closed early, a body that could not be read); null when the store was never reached.
    /// </summary>
    private static string? BrokeMidTransfer(Exception ex)
    {
        if (Find<HttpRequestException>(ex) is { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.ProxyTunnelError or HttpRequestError.SecureConnectionError })
        {
            return null;
        }
        if (Find<HttpRequestException>(ex) is { HttpRequestError: HttpRequestError.ResponseEnded } ended)
        {
            return FirstLine(ended.Message);
        }
        IOException? innermost = null;
        for (var e = ex; e is not null; e = e.InnerException)
        {
            innermost = e as IOException ?? innermost;
        }
        return innermost is null ? null : FirstLine(innermost.InnerException?.Message ?? innermost.Message);
    }

    /// <summary>SDK messages can run over many lines; an error here is one.</summary>
    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.EndsWith(':') ? line.TrimEnd(':') : line;
    }

    /// <summary>Errors worth another attempt: the server busy or away, the connection lost, a request timed out.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        // The request's whole time is spent: another attempt could only outlive it.
        TimeoutRejectedException => false,
        // 501: the store lacks the operation (s3rver's Object Lock); no attempt will change that.
        AmazonS3Exception s3 => ((int)s3.StatusCode >= 500 && s3.StatusCode != HttpStatusCode.NotImplemented)
            || s3.StatusCode == HttpStatusCode.TooManyRequests || s3.ErrorCode is "SlowDown" or "RequestTimeout",
        _ when Find<AuthenticationException>(ex) is not null => false,
        HttpRequestException or IOException or TimeoutException => true,
        TaskCanceledException => true,
        AmazonServiceException { InnerException: { } inner } => IsTransient(inner),
        AmazonClientException { InnerException: { } inner } => IsTransient(inner),
        _ => false,
    };

    /// <summary>The store does not implement AbortMultipartUpload (s3rver answers 405 MethodNotAllowed).</summary>
    public static bool CannotAbort(Exception ex)
        => ex is AmazonS3Exception { ErrorCode: "MethodNotAllowed" or "NotImplemented" } or AmazonS3Exception { StatusCode: HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented };

    private static T? Find<T>(Exception? ex)
        where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found)
            {
                return found;
            }
        }
        return null;
    }
}
