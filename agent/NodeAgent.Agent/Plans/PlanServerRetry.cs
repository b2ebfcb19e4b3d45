using Grpc.Core;
using Polly;
using Polly.Retry;

namespace NodeAgent.Agent.Plans;

/// <summary>
/// The one retry policy for the plan server: exponential backoff with jitter, capped at 30 s,
/// for as long as the agent runs, on what a server that is away or restarting answers. The
/// gRPC channel itself retries nothing, so attempts never multiply.
/// </summary>
internal static class PlanServerRetry
{
    public static ResiliencePipeline Create(TimeProvider time, Action<Outcome<object>, TimeSpan>? onRetry = null)
        => new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(IsTransient).Handle<HttpRequestException>(),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(30),
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    onRetry?.Invoke(args.Outcome, args.RetryDelay);
                    return default;
                },
            })
            .Build();

    /// <summary>Statuses a server that is away, restarting or overloaded answers.</summary>
    public static bool IsTransient(RpcException ex) => ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        or StatusCode.ResourceExhausted or StatusCode.Aborted or StatusCode.Internal or StatusCode.Unknown;
}
