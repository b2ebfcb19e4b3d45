using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace NodeAgent.Agent.S3;

/// <summary>
/// The one retry policy for S3, applied per request (per part of an upload): exponential backoff
/// with jitter on transient errors only, all within the request's timeout (<c>--s3-timeout</c>),
/// which bounds the request with its retries, so a server that accepts connections and never
/// answers costs one timeout per request, not one per attempt. The SDK's own retries are off, so
/// attempts never multiply; its own timeout never reaches our HttpClients (see <see cref="S3ClientFactory"/>).
/// </summary>
internal sealed record S3Retry(int MaxRetryAttempts, TimeSpan Delay)
{
    public static readonly S3Retry Default = new(4, TimeSpan.FromSeconds(1));

    /// <param name="requestTimeout">The bound of each request, retries included: a request still going then throws <see cref="TimeoutRejectedException"/>.</param>
    public ResiliencePipeline Build(TimeProvider time, TimeSpan requestTimeout, CancellationToken ownerCancellation = default)
        => new ResiliencePipelineBuilder { TimeProvider = time }
            .AddTimeout(requestTimeout)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } ex && !args.Context.CancellationToken.IsCancellationRequested && !ownerCancellation.IsCancellationRequested
                    && S3Errors.IsTransient(ex)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = Delay,
                MaxDelay = TimeSpan.FromSeconds(30),
                MaxRetryAttempts = MaxRetryAttempts,
            })
            .Build();
}
