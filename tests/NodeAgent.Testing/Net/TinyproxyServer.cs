using System.Globalization;
using System.Net.Sockets;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Net;

/// <summary>
/// tinyproxy (Debian) on loopback: a real HTTP forward proxy (plain requests and CONNECT) that
/// logs every request it relays, so a test can prove traffic went through it.
/// </summary>
public sealed class TinyproxyServer : IAsyncDisposable
{
    private readonly TempDir _dir;
    private readonly ManagedProcess _process;

    private TinyproxyServer(TempDir dir, ManagedProcess process, int port)
    {
        _dir = dir;
        _process = process;
        Url = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}");
    }

    public string Url { get; }

    /// <summary>What tinyproxy logged, one line per connection and request.</summary>
    public string Log => _process.Output;

    public static async Task<TinyproxyServer> StartAsync()
    {
        var dir = new TempDir("nodeagent-proxy-");
        var port = FreePorts.Next();
        var conf = dir.Combine("tinyproxy.conf");
        File.WriteAllText(conf, string.Create(CultureInfo.InvariantCulture,
            $"Port {port}\nListen 127.0.0.1\nTimeout 600\nAllow 127.0.0.1\nLogLevel Connect\nMaxClients 50\n"));
        var process = ManagedProcess.Start("/usr/bin/tinyproxy", ["-d", "-c", conf]);
        var proxy = new TinyproxyServer(dir, process, port);
        try
        {
            await process.WaitUntilAsync(async ct =>
            {
                using var client = new TcpClient();
                try
                {
                    await client.ConnectAsync("127.0.0.1", port, ct);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            }, TestTimeouts.Slow, "tinyproxy listening");
            return proxy;
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(TimeSpan.FromSeconds(5));
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
