using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace NodeAgent.Testing.Net;

/// <summary>
/// A loopback TCP relay in front of a real server, so a test can act at an exact point of a
/// transfer: <see cref="TripAfter"/> runs an action (say, stopping the server) once a given number
/// of bytes has gone upstream (<see cref="TripAfterDown"/>: come back from the server), holding
/// every further byte that way until the action is done; <see cref="Freeze"/> makes it a hung
/// server (connections are accepted, nothing is forwarded either way, nothing is closed). It only
/// moves bytes; what the client talks to is still the real server.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _bytesUp;
    private long _bytesDown;
    private long _tripAt = long.MaxValue;
    private long _tripDownAt = long.MaxValue;
    private Func<Task>? _trip;
    private TaskCompletionSource _tripped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _frozen;

    private TcpRelay(IPEndPoint upstream)
    {
        _upstream = upstream;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>host:port clients should use instead of the server's.</summary>
    public string Authority => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public long BytesUp => Interlocked.Read(ref _bytesUp);

    public long BytesDown => Interlocked.Read(ref _bytesDown);

    public static TcpRelay Start(Uri upstream) => new(new IPEndPoint(IPAddress.Parse(upstream.Host), upstream.Port));

    /// <summary>Runs <paramref name="action"/> once <paramref name="bytes"/> more bytes have gone upstream; the task completes after it ran.</summary>
    public Task TripAfter(long bytes, Func<Task> action)
    {
        _tripped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _trip = action;
        Interlocked.Exchange(ref _tripAt, BytesUp + bytes);
        return _tripped.Task;
    }

    /// <summary>Runs <paramref name="action"/> once <paramref name="bytes"/> more bytes have come back from the server; the task completes after it ran.</summary>
    public Task TripAfterDown(long bytes, Func<Task> action)
    {
        _tripped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _trip = action;
        Interlocked.Exchange(ref _tripDownAt, BytesDown + bytes);
        return _tripped.Task;
    }

    /// <summary>From now on the relay is a hung server: it accepts connections and holds them, forwarding no byte either way.</summary>
    public void Freeze() => _frozen = true;

    /// <summary>Freezes once <paramref name="bytes"/> more bytes have gone upstream (they are held, not forwarded).</summary>
    public Task FreezeAfter(long bytes) => TripAfter(bytes, () =>
    {
        Freeze();
        return Task.CompletedTask;
    });

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }
        await Task.WhenAll(connections);
        _stop.Dispose();
        _gate.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            lock (_connections)
            {
                _connections.Add(RelayAsync(client));
            }
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient();
        try
        {
            if (_frozen)
            {
                // Accepted and held, as by a stopped process whose listening socket still queues connections.
                await Task.Delay(Timeout.Infinite, _stop.Token);
            }
            await upstream.ConnectAsync(_upstream, _stop.Token);
            using var both = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var up = PumpAsync(client.GetStream(), upstream.GetStream(), up: true, both.Token);
            var down = PumpAsync(upstream.GetStream(), client.GetStream(), up: false, both.Token);
            await Task.WhenAny(up, down);
            await both.CancelAsync();
            await Task.WhenAll(up, down);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The server is down or a side hung up: the client sees its connection end, as with a real outage.
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool up, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
            {
                if (Interlocked.Add(ref up ? ref _bytesUp : ref _bytesDown, read) >= Interlocked.Read(ref up ? ref _tripAt : ref _tripDownAt))
                {
                    await TripAsync();
                }
                if (_frozen)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            try
            {
                to.Socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task TripAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (_trip is { } trip)
            {
                _trip = null;
                Interlocked.Exchange(ref _tripAt, long.MaxValue);
                Interlocked.Exchange(ref _tripDownAt, long.MaxValue);
                try
                {
                    await trip();
                    _tripped.TrySetResult();
                }
                catch (Exception ex)
                {
                    _tripped.TrySetException(ex);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
