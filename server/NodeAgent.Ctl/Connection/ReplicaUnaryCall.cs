using Grpc.Core;

namespace NodeAgent.Ctl.Connection;

/// <summary>
/// One unary call over the replicas: an attempt on each address in turn, from the one that
/// answered last, for as long as <see cref="ReplicaCallInvoker.Judge"/> says the call may move.
/// </summary>
internal sealed class ReplicaUnaryCall<TRequest, TResponse>(
    ReplicaCallInvoker replicas, Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    where TRequest : class
    where TResponse : class
{
    private AsyncUnaryCall<TResponse>? _attempt;
    private Task<TResponse>? _response;

    public AsyncUnaryCall<TResponse> Start()
    {
        _response = RunAsync();
        return new AsyncUnaryCall<TResponse>(
            _response,
            static state => ((ReplicaUnaryCall<TRequest, TResponse>)state).HeadersAsync(),
            static state => ((ReplicaUnaryCall<TRequest, TResponse>)state).Attempt.GetStatus(),
            static state => ((ReplicaUnaryCall<TRequest, TResponse>)state).Attempt.GetTrailers(),
            static state => ((ReplicaUnaryCall<TRequest, TResponse>)state).Attempt.Dispose(),
            this);
    }

    private AsyncUnaryCall<TResponse> Attempt => _attempt ?? throw new InvalidOperationException("the call has not started");

    private async Task<TResponse> RunAsync()
    {
        // The caller's deadline is a timeout from now; each further attempt gets that timeout again.
        var timeout = options.Deadline is { } deadline && deadline != DateTime.MaxValue ? deadline - replicas.Time.GetUtcNow().UtcDateTime : (TimeSpan?)null;
        var first = replicas.Current;
        for (var tried = 0; ; tried++)
        {
            var index = (first + tried) % replicas.Count;
            var attemptOptions = tried == 0 || timeout is null ? options : options.WithDeadline(replicas.Time.GetUtcNow().UtcDateTime + timeout.Value);
            _attempt?.Dispose();
            _attempt = replicas.Invoker(index).AsyncUnaryCall(method, host, attemptOptions, request);
            try
            {
                var response = await _attempt.ResponseAsync;
                replicas.Answered(index);
                return response;
            }
            catch (RpcException ex) when (tried + 1 < replicas.Count)
            {
                var next = (index + 1) % replicas.Count;
                switch (ReplicaCallInvoker.Judge(method, ex))
                {
                    case ReplicaCallInvoker.Verdict.Move:
                        await replicas.ReportMoveAsync(index, ex, next);
                        break;
                    case ReplicaCallInvoker.Verdict.MayHaveBeenDone:
                        throw replicas.NotSentOn(method, index, ex, next);
                    default:
                        throw;
                }
            }
        }
    }

    /// <summary>The headers of the attempt that ended the call.</summary>
    private async Task<Metadata> HeadersAsync()
    {
        await ((Task)_response!).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return await Attempt.ResponseHeadersAsync;
    }
}
