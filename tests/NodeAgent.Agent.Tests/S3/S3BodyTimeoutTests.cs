using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.S3;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// <see cref="S3BodyTimeout"/> over a real loopback connection whose far end stops sending, on fake
/// time: the idle deadline counts only while a read waits, and nothing real is waited for.
/// </summary>
public sealed class S3BodyTimeoutTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(3);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Socket _client = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private Socket _server = null!;

    public async Task InitializeAsync()
    {
        _listener.Start();
        var accepted = _listener.AcceptSocketAsync();
        await _client.ConnectAsync((IPEndPoint)_listener.LocalEndpoint).DefaultTimeout();
        _server = await accepted.DefaultTimeout();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _server?.Dispose();
        _client.Dispose();
        _listener.Dispose();
    }

    [Fact]
    public async Task ReadAsync_BodyStallsAfterItsFirstBytes_ThrowsStalledAfterExactlyTheIdleTimeOfThatRead()
    {
        await using var body = new S3BodyTimeout(new NetworkStream(_client), Idle, _time);
        var buffer = new byte[16];
        await _server.SendAsync("abcd"u8.ToArray()).DefaultTimeout();
        Assert.Equal(4, await body.ReadAsync(buffer).AsTask().DefaultTimeout());
        // The caller's own time with the bytes (writing them out) does not count against the store.
        _time.Advance(Idle * 2);

        var read = body.ReadAsync(buffer).AsTask();
        _time.Advance(Idle - TimeSpan.FromTicks(1));
        Assert.False(read.IsCompleted, "the read ended before the idle time had passed");
        _time.Advance(TimeSpan.FromTicks(1));

        var stalled = await Assert.ThrowsAsync<S3BodyStalledException>(() => read.DefaultTimeout());
        Assert.Equal(Idle, stalled.Idle);
        Assert.Equal("no byte of the answer for 3s", stalled.Message);
    }

    [Fact]
    public async Task ReadAsync_BytesKeepComing_EachReadHasItsOwnIdleTime()
    {
        await using var body = new S3BodyTimeout(new NetworkStream(_client), Idle, _time);
        var buffer = new byte[16];

        for (var i = 0; i < 3; i++)
        {
            var read = body.ReadAsync(buffer).AsTask();
            _time.Advance(Idle - TimeSpan.FromTicks(1));
            await _server.SendAsync("ab"u8.ToArray()).DefaultTimeout();
            Assert.Equal(2, await read.DefaultTimeout());
        }
    }

    [Fact]
    public async Task ReadAsync_CallerCancels_ThrowsOperationCanceledNotStalled()
    {
        await using var body = new S3BodyTimeout(new NetworkStream(_client), Idle, _time);
        using var cancel = new CancellationTokenSource();

        var read = body.ReadAsync(new byte[16], cancel.Token).AsTask();
        await cancel.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.DefaultTimeout());
        Assert.IsNotType<S3BodyStalledException>(ex.InnerException);
    }

    [Fact]
    public async Task ReadAsync_CallerCancelsBetweenReads_TheNextReadThrowsOperationCanceled()
    {
        await using var body = new S3BodyTimeout(new NetworkStream(_client), Idle, _time);
        using var cancel = new CancellationTokenSource();
        await _server.SendAsync("ab"u8.ToArray()).DefaultTimeout();
        Assert.Equal(2, await body.ReadAsync(new byte[16], cancel.Token).AsTask().DefaultTimeout());

        await cancel.CancelAsync();
        await _server.SendAsync("cd"u8.ToArray()).DefaultTimeout();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => body.ReadAsync(new byte[16], cancel.Token).AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task ReadAsync_AnotherTokenOnALaterRead_ThatTokenCancelsIt()
    {
        await using var body = new S3BodyTimeout(new NetworkStream(_client), Idle, _time);
        using var first = new CancellationTokenSource();
        using var second = new CancellationTokenSource();
        await _server.SendAsync("ab"u8.ToArray()).DefaultTimeout();
        Assert.Equal(2, await body.ReadAsync(new byte[16], first.Token).AsTask().DefaultTimeout());

        var read = body.ReadAsync(new byte[16], second.Token).AsTask();
        await second.CancelAsync();

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.DefaultTimeout());
        Assert.IsNotType<S3BodyStalledException>(ex);
    }
}
