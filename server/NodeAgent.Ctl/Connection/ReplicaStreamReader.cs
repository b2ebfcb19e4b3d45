using Grpc.Core;

namespace NodeAgent.Ctl.Connection;

/// <summary>
/// A server stream over the replicas. When it breaks with <c>UNAVAILABLE</c> (its replica stops,
/// "the plan server is stopping", or cannot be reached) and <see cref="ReplicaCallInvoker.Judge"/>
/// lets the call move, the same request opens it again on the next address and reading goes on
/// there. For a watch, whose first message is the operation as it is now, that resumes it: the
/// reader sees one more state, never a gap. After a break each address is tried once; a message
/// received starts the count again.
/// </summary>
internal sealed class ReplicaStreamReader<TRequest, TResponse>(
    ReplicaCallInvoker replicas, Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    : IAsyncStreamReader<TResponse>
    where TRequest : class
    where TResponse : class
{
    private AsyncServerStreamingCall<TResponse> _call = null!;
    private int _index;
    private int _tried = 1;

    public TResponse Current => _call.ResponseStream.Current;

    public AsyncServerStreamingCall<TResponse> Start()
    {
        Open(replicas.Current);
        return new AsyncServerStreamingCall<TResponse>(
            this,
            static state => ((ReplicaStreamReader<TRequest, TResponse>)state)._call.ResponseHeadersAsync,
            static state => ((ReplicaStreamReader<TRequest, TResponse>)state)._call.GetStatus(),
            static state => ((ReplicaStreamReader<TRequest, TResponse>)state)._call.GetTrailers(),
            static state => ((ReplicaStreamReader<TRequest, TResponse>)state)._call.Dispose(),
            this);
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                var more = await _call.ResponseStream.MoveNext(cancellationToken);
                if (more)
                {
                    replicas.Answered(_index);
                    _tried = 1;
                }
                return more;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && _tried < replicas.Count
                && ReplicaCallInvoker.Judge(method, ex) == ReplicaCallInvoker.Verdict.Move)
            {
                var next = (_index + 1) % replicas.Count;
                await replicas.ReportMoveAsync(_index, ex, next);
                _call.Dispose();
                _tried++;
                Open(next);
            }
        }
    }

    private void Open(int index)
    {
        _index = index;
        _call = replicas.Invoker(index).AsyncServerStreamingCall(method, host, options, request);
    }
}
