using Polly;
using Polly.Retry;

namespace NodeAgent.Agent.S3;

/// <summary>
/// The one retry policy for S3, applied per request (per part of an upload): exponential backoff
/// with jitter on transient errors only. The SDK's own retries are off, so attempts never multiply.
/// </summary>
internal sealed record S3Retry(int MaxRetryAttempts, TimeSpan Delay)
{
    public static readonly S3Retry Default = new(4, TimeSpan.FromSeconds(1));

    public ResiliencePipeline Build(TimeProvider time, CancellationToken ownerCancellation = default)
        => new ResiliencePipelineBuilder { TimeProvider = time }
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
