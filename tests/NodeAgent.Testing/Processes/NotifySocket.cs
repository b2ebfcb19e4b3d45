using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace NodeAgent.Testing.Processes;

/// <summary>
/// A stand-in for systemd's notification socket: a Unix datagram socket whose path a child gets
/// as NOTIFY_SOCKET. Each datagram (e.g. "READY=1\nSTATUS=...") is split into its lines.
/// </summary>
public sealed class NotifySocket : IDisposable
{
    private int _disposed;
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly Channel<string> _messages = Channel.CreateUnbounded<string>();
    private readonly CancellationTokenSource _stop = new();
    private readonly TempDir _dir = new("nodeagent-notify-");
    private readonly Task _receiver;

    public NotifySocket()
    {
        Path = System.IO.Path.Combine(_dir.Path, "notify.sock");
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
        _receiver = ReceiveAsync();
    }

    public string Path { get; }

    /// <summary>Waits for a line equal to <paramref name="message"/> (e.g. "READY=1"), returning every line seen before it.</summary>
    public async Task<IReadOnlyList<string>> WaitForAsync(string message, TimeSpan timeout)
    {
        var seen = new List<string>();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var line = await _messages.Reader.ReadAsync(cts.Token);
                seen.Add(line);
                if (line == message)
                {
                    return seen;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no '{message}' on NOTIFY_SOCKET within {timeout}; saw: {string.Join(" | ", seen)}");
        }
    }

    /// <summary>Lines received so far and not yet consumed.</summary>
    public IReadOnlyList<string> Drain()
    {
        var lines = new List<string>();
        while (_messages.Reader.TryRead(out var line))
        {
            lines.Add(line);
        }
        return lines;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        _stop.Cancel();
        _socket.Dispose();
        try
        {
            _receiver.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        catch (SocketException)
        {
        }
        _stop.Dispose();
        _dir.Dispose();
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        while (!_stop.IsCancellationRequested)
        {
            var received = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
            foreach (var line in Encoding.UTF8.GetString(buffer, 0, received).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                await _messages.Writer.WriteAsync(line, _stop.Token);
            }
        }
    }
}
