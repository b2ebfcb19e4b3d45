using System.Net.Sockets;
using Grpc.Core;

namespace NodeAgent.Ctl.Connection;

/// <summary>
/// Sends each call to one of the plan server's replicas, starting with the one that answered last.
/// The rule: a call moves on to the next address (each address once) only when the replica it went
/// to cannot have carried it out (<c>UNAVAILABLE</c> with no connection made) or, for a read
/// (<see cref="ReadOnlyCalls"/>), when that replica is gone or hung (<c>UNAVAILABLE</c>, or no answer
/// by the deadline). Every other status is the server's answer and is returned at once, and a change
/// the replica may have carried out is never sent to another. Each attempt gets the call's own
/// timeout again, so a call lasts at most that timeout times the number of addresses; the call's
/// token (Ctrl-C) ends it at once. Each move is one line on stderr.
/// </summary>
internal sealed class ReplicaCallInvoker : CallInvoker
{
    private readonly IReadOnlyList<Uri> _servers;
    private readonly IReadOnlyList<CallInvoker> _invokers;
    private readonly TextWriter _error;
    private int _current;

    public ReplicaCallInvoker(IReadOnlyList<Uri> servers, IReadOnlyList<CallInvoker> invokers, TextWriter error, TimeProvider time)
    {
        if (servers.Count == 0 || servers.Count != invokers.Count)
        {
            throw new ArgumentException("one call invoker per server address, and at least one", nameof(invokers));
        }
        _servers = servers;
        _invokers = invokers;
        _error = error;
        Time = time;
    }

    /// <summary>What a failed attempt means for the next address.</summary>
    internal enum Verdict
    {
        /// <summary>The server's own answer: returned as it is.</summary>
        Answer,

        /// <summary>The replica is gone or hung and the call can go to the next one.</summary>
        Move,

        /// <summary>A change the replica may have carried out: not sent to another.</summary>
        MayHaveBeenDone,
    }

    internal TimeProvider Time { get; }

    internal int Count => _invokers.Count;

    /// <summary>The address the next call goes to first: the one that answered last.</summary>
    internal int Current => Volatile.Read(ref _current);

    internal CallInvoker Invoker(int index) => _invokers[index];

    internal void Answered(int index) => Volatile.Write(ref _current, index);

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        => new ReplicaUnaryCall<TRequest, TResponse>(this, method, host, options, request).Start();

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        => new ReplicaStreamReader<TRequest, TResponse>(this, method, host, options, request).Start();

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        => throw new NotSupportedException("nodeagentctl makes no blocking calls");

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
        => throw new NotSupportedException("the operator API has no client streams");

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
        => throw new NotSupportedException("the operator API has no duplex streams");

    internal static Verdict Judge(IMethod method, RpcException ex) => ex.StatusCode switch
    {
        StatusCode.Unavailable when ReadOnlyCalls.Contains(method) || NeverConnected(ex) => Verdict.Move,
        StatusCode.DeadlineExceeded when ReadOnlyCalls.Contains(method) => Verdict.Move,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded => Verdict.MayHaveBeenDone,
        _ => Verdict.Answer,
    };

    internal Task ReportMoveAsync(int from, RpcException ex, int to)
        => _error.WriteLineAsync($"nodeagentctl: plan server {Display(from)} did not answer ({Reason(ex)}); trying {Display(to)}");

    /// <summary><paramref name="ex"/>, saying that the change went to no other replica and why.</summary>
    internal RpcException NotSentOn(IMethod method, int from, RpcException ex, int to)
    {
        var note = $"{Display(from)} may have carried out {method.Name}, so it was not sent to {Display(to)}: check before running the command again";
        var detail = ex.Status.Detail.Length > 0 ? $"{ex.Status.Detail}; {note}" : note;
        return new RpcException(new Status(ex.StatusCode, detail, ex.Status.DebugException), ex.Trailers);
    }

    /// <summary>
    /// Whether the call failed before any connection to the replica was made, so the replica cannot
    /// have seen it: gRPC's subchannel could not connect its socket (refused, no route: the
    /// <see cref="SocketException"/> itself is the status's exception, "Error connecting to
    /// subchannel."), or the HTTP handler could not connect, resolve the name or agree on TLS. A
    /// socket error inside an <see cref="IOException"/> is a connection lost mid-call, and is not this.
    /// </summary>
    private static bool NeverConnected(RpcException ex)
    {
        if (ex.Status.DebugException is SocketException)
        {
            return true;
        }
        for (var e = ex.Status.DebugException; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError })
            {
                return true;
            }
        }
        return false;
    }

    private static string Reason(RpcException ex) => ex.Status.Detail.Length > 0 ? $"{ex.StatusCode}: {ex.Status.Detail}" : ex.StatusCode.ToString();

    private string Display(int index) => _servers[index].GetLeftPart(UriPartial.Path).TrimEnd('/');
}
