using System.Net.Sockets;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;
using NodeAgent.Testing;

namespace NodeAgent.Ctl.Tests;

/// <summary>
/// Which failures move a call to the next replica, on replicas that answer as scripted; the real
/// processes (refused, hung) are in <see cref="ReplicaFailoverTests"/>.
/// </summary>
public sealed class ReplicaCallInvokerTests : IDisposable
{
    private static readonly Uri[] Servers = [new("https://a.example:9180"), new("https://b.example:9180")];
    private static readonly RpcException Refused = new(new Status(StatusCode.Unavailable, "Error connecting to subchannel.", new SocketException((int)SocketError.ConnectionRefused)));
    private readonly FakeTimeProvider _time = new();
    private readonly StringWriter _error = new();

    public void Dispose() => _error.Dispose();

    [Fact]
    public async Task Unary_FirstRefused_AnswersFromTheSecond_AndTheNextCallStartsThere()
    {
        var a = new ScriptedReplica(_ => throw Refused);
        var b = new ScriptedReplica(request => request is ListClustersRequest ? new ListClustersResponse() : new CreateClusterResponse());
        var clusters = new ClusterService.ClusterServiceClient(Replicas(a, b));

        await clusters.ListClustersAsync(new ListClustersRequest(), deadline: Deadline()).ResponseAsync.DefaultTimeout();
        await clusters.CreateClusterAsync(new CreateClusterRequest(), deadline: Deadline()).ResponseAsync.DefaultTimeout();

        Assert.Equal(["ListClusters"], a.Calls);
        Assert.Equal(["ListClusters", "CreateCluster"], b.Calls);
        Assert.Equal("nodeagentctl: plan server https://a.example:9180 did not answer (Unavailable: Error connecting to subchannel.); trying https://b.example:9180\n", _error.ToString());
    }

    [Fact]
    public async Task Unary_ReadPastItsDeadline_MovesWithTheCallTimeoutAgain()
    {
        var start = _time.GetUtcNow().UtcDateTime;
        var a = new ScriptedReplica(_ =>
        {
            _time.Advance(ServerConnection.CallTimeout);
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, ""));
        });
        var b = new ScriptedReplica(_ => new GetClusterResponse());

        await new ClusterService.ClusterServiceClient(Replicas(a, b)).GetClusterAsync(new GetClusterRequest(), deadline: Deadline()).ResponseAsync.DefaultTimeout();

        Assert.Equal([start + ServerConnection.CallTimeout], a.Deadlines);
        Assert.Equal([start + (2 * ServerConnection.CallTimeout)], b.Deadlines);
        Assert.Contains("did not answer (DeadlineExceeded); trying https://b.example:9180", _error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(StatusCode.DeadlineExceeded, "")]
    [InlineData(StatusCode.Unavailable, "the plan server's database failed: disk I/O error")]
    public async Task Unary_ChangeThatMayHaveBeenCarriedOut_IsNotSentToTheNext_AndSaysSo(StatusCode code, string detail)
    {
        var a = new ScriptedReplica(_ => throw new RpcException(new Status(code, detail)));
        var b = new ScriptedReplica(_ => new CreateSnapshotResponse());

        var ex = await Assert.ThrowsAsync<RpcException>(() => new SnapshotService.SnapshotServiceClient(Replicas(a, b))
            .CreateSnapshotAsync(new CreateSnapshotRequest(), deadline: Deadline()).ResponseAsync).DefaultTimeout();

        Assert.Equal(code, ex.StatusCode);
        Assert.EndsWith("https://a.example:9180 may have carried out CreateSnapshot, so it was not sent to https://b.example:9180: check before running the command again",
            ex.Status.Detail, StringComparison.Ordinal);
        Assert.StartsWith(detail, ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(b.Calls);
        Assert.Equal("", _error.ToString());
    }

    [Theory]
    [InlineData(StatusCode.NotFound)]
    [InlineData(StatusCode.PermissionDenied)]
    [InlineData(StatusCode.FailedPrecondition)]
    [InlineData(StatusCode.Aborted)]
    public async Task Unary_ServersAnswer_IsReturnedAtOnce(StatusCode code)
    {
        var a = new ScriptedReplica(_ => throw new RpcException(new Status(code, "no")));
        var b = new ScriptedReplica(_ => new GetClusterResponse());

        var ex = await Assert.ThrowsAsync<RpcException>(() => new ClusterService.ClusterServiceClient(Replicas(a, b))
            .GetClusterAsync(new GetClusterRequest(), deadline: Deadline()).ResponseAsync).DefaultTimeout();

        Assert.Equal(new Status(code, "no"), ex.Status);
        Assert.Empty(b.Calls);
    }

    [Fact]
    public async Task Watch_BreaksWithUnavailable_ResumesOnTheNextAddress()
    {
        var stopping = new RpcException(new Status(StatusCode.Unavailable, "the plan server is stopping"));
        var a = new ScriptedReplica(_ => throw new InvalidOperationException()) { Stream = ([Watched("op-1", OperationPhase.Started)], stopping) };
        var b = new ScriptedReplica(_ => throw new InvalidOperationException()) { Stream = ([Watched("op-1", OperationPhase.Finished)], null) };

        using var call = new OperationService.OperationServiceClient(Replicas(a, b)).WatchOperation(new WatchOperationRequest { Id = "op-1" });
        var phases = new List<OperationPhase>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            phases.Add(call.ResponseStream.Current.Operation.Phase);
        }

        Assert.Equal([OperationPhase.Started, OperationPhase.Finished], phases);
        Assert.Equal("nodeagentctl: plan server https://a.example:9180 did not answer (Unavailable: the plan server is stopping); trying https://b.example:9180\n", _error.ToString());
    }

    private ReplicaCallInvoker Replicas(params ScriptedReplica[] replicas) => new(Servers, replicas, _error, _time);

    private DateTime Deadline() => _time.GetUtcNow().UtcDateTime + ServerConnection.CallTimeout;

    private static WatchOperationResponse Watched(string id, OperationPhase phase) => new() { Operation = new Operation { Id = id, Phase = phase } };

    /// <summary>A replica that answers each unary call with <paramref name="answer"/> (or its exception) and each stream with <see cref="Stream"/>.</summary>
    private sealed class ScriptedReplica(Func<object, object> answer) : CallInvoker
    {
        public List<string> Calls { get; } = [];

        public List<DateTime?> Deadlines { get; } = [];

        public (object[] Messages, RpcException? End) Stream { get; init; }

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            Calls.Add(method.Name);
            Deadlines.Add(options.Deadline);
            Task<TResponse> response;
            try
            {
                response = Task.FromResult((TResponse)answer(request));
            }
            catch (RpcException ex)
            {
                response = Task.FromException<TResponse>(ex);
            }
            return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            Calls.Add(method.Name);
            return new AsyncServerStreamingCall<TResponse>(new Reader<TResponse>(Stream.Messages.Cast<TResponse>(), Stream.End),
                Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
            => throw new NotSupportedException();

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
            => throw new NotSupportedException();

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options)
            => throw new NotSupportedException();
    }

    /// <summary>Yields <paramref name="messages"/>, then ends, or breaks with <paramref name="end"/>.</summary>
    private sealed class Reader<T>(IEnumerable<T> messages, RpcException? end) : IAsyncStreamReader<T>
    {
        private readonly IEnumerator<T> _messages = messages.GetEnumerator();

        public T Current => _messages.Current;

        public Task<bool> MoveNext(CancellationToken cancellationToken)
            => _messages.MoveNext() ? Task.FromResult(true) : end is null ? Task.FromResult(false) : Task.FromException<bool>(end);
    }
}
