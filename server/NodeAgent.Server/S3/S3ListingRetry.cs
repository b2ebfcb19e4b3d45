using System.Net;
using System.Security.Authentication;
using Amazon.Runtime;
using Amazon.S3;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace NodeAgent.Server.S3;

/// <summary>
/// The one retry policy for the server's S3 requests, as the agent's (agent/S3/S3Retry): per
/// request, exponential backoff with jitter on transient errors only, all within the target's
/// timeout, which bounds the request with its retries. The SDK's own retries are off.
/// </summary>
internal static class S3ListingRetry
{
    /// <param name="onRetry">Told each error that is retried: when the timeout then ends the request, it says what the server did before.</param>
    public static ResiliencePipeline Build(TimeProvider time, TimeSpan requestTimeout, Action<Exception> onRetry)
        => new ResiliencePipelineBuilder { TimeProvider = time }
            .AddTimeout(requestTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } ex && !args.Context.CancellationToken.IsCancellationRequested && IsTransient(ex)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(30),
                MaxRetryAttempts = 4,
                OnRetry = args =>
                {
                    if (args.Outcome.Exception is { } ex)
                    {
                        onRetry(ex);
                    }
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

    /// <summary>Worth another attempt: the server busy or away, the connection lost.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        TimeoutRejectedException => false,
        AmazonS3Exception s3 => (int)s3.StatusCode >= 500 || s3.StatusCode == HttpStatusCode.TooManyRequests || s3.ErrorCode is "SlowDown" or "RequestTimeout",
        _ when S3ErrorText.Find<AuthenticationException>(ex) is not null => false,
        HttpRequestException or IOException or TimeoutException or TaskCanceledException => true,
        AmazonServiceException { InnerException: { } inner } => IsTransient(inner),
        AmazonClientException { InnerException: { } inner } => IsTransient(inner),
        _ => false,
    };
}
