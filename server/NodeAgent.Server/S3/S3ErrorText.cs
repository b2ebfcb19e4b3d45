using System.Net;
using System.Security.Authentication;
using Amazon.Runtime;
using Amazon.S3;
using Polly.Timeout;

namespace NodeAgent.Server.S3;

/// <summary>SDK and transport errors as one line an operator can act on, naming the cluster's setting to fix.</summary>
internal static class S3ErrorText
{
    public static string Describe(Exception ex, S3Target target) => ex switch
    {
        S3ListingException => ex.Message,
        TimeoutRejectedException => TimedOut(target),
        AmazonS3Exception { ErrorCode: "InvalidAccessKeyId" } => $"S3 at {target.Endpoint} does not know the access key (InvalidAccessKeyId)",
        AmazonS3Exception { ErrorCode: "SignatureDoesNotMatch" } => $"S3 at {target.Endpoint} rejected the secret key (SignatureDoesNotMatch)",
        AmazonS3Exception { ErrorCode: "NoSuchBucket" } => $"bucket \"{target.Bucket}\" does not exist at {target.Endpoint}",
        AmazonS3Exception { ErrorCode: "AccessDenied" } s3 => $"S3 at {target.Endpoint} denied access to bucket \"{target.Bucket}\" ({s3.Message})",
        AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } s3 => $"S3 at {target.Endpoint} refused the credentials ({s3.ErrorCode}: {s3.Message})",
        AmazonS3Exception s3 => $"S3 at {target.Endpoint} answered {(int)s3.StatusCode} {s3.ErrorCode}: {FirstLine(s3.Message)}",
        _ when Find<AuthenticationException>(ex) is not null
            => $"TLS with {target.Endpoint} failed: its certificate is not trusted (set s3.endpoint_ca, or s3.insecure for plain http)",
        _ when Find<HttpRequestException>(ex) is { } http => $"S3 at {target.Endpoint} is not reachable: {FirstLine(http.Message)}",
        AmazonClientException client when client.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase)
            => $"no S3 credentials: set s3.credentials.static_keys, or run the plan server where the SDK's default chain finds some (environment, credentials file, instance role) ({FirstLine(client.Message)})",
        TimeoutException or TaskCanceledException => TimedOut(target),
        _ => $"S3 at {target.Endpoint}: {FirstLine(ex.Message)}",
    };

    /// <summary>A request (with its retries) outlived the target's timeout: the server is hung or too slow.</summary>
    public static string TimedOut(S3Target target) => $"S3 at {target.Endpoint} timed out after {Format(target.Timeout)} (s3.timeout)";

    /// <summary>A duration as Go (K3s) prints it: 2s, 5m0s, 1h30m0s; 1500ms below a whole second.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.FromSeconds(1) || duration.Milliseconds != 0)
        {
            return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{(long)duration.TotalMilliseconds}ms");
        }
        var hours = (long)duration.TotalHours;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{(hours > 0 ? $"{hours}h" : "")}{(hours > 0 || duration.Minutes > 0 ? $"{duration.Minutes}m" : "")}{duration.Seconds}s");
    }

    public static T? Find<T>(Exception? ex)
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

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.EndsWith(':') ? line.TrimEnd(':') : line;
    }
}
