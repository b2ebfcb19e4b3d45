using System.Net;
using System.Net.Sockets;

namespace NodeAgent.Testing;

/// <summary>
/// Hands out free loopback TCP ports. A port is never handed out twice in one test run, so
/// fixtures that start at the same time do not collide.
/// </summary>
public static class FreePorts
{
    private static readonly HashSet<int> Given = [];
    private static readonly Lock Gate = new();

    /// <summary>A free port on 127.0.0.1, avoiding <paramref name="avoid"/> (e.g. Ceph's OSD range).</summary>
    public static int Next(Func<int, bool>? avoid = null)
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                using var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                listener.Stop();
                if (avoid?.Invoke(port) == true || !Given.Add(port))
                {
                    continue;
                }
                return port;
            }
        }
        throw new InvalidOperationException("No free loopback port found after 200 attempts.");
    }

    /// <summary>Two adjacent free ports (port, port + 1), for servers that take the next one too.</summary>
    public static int NextPair(Func<int, bool>? avoid = null)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Next(avoid);
            if (port < IPEndPoint.MaxPort && IsFree(port + 1) && (avoid?.Invoke(port + 1) != true))
            {
                lock (Gate)
                {
                    if (Given.Add(port + 1))
                    {
                        return port;
                    }
                }
            }
        }
        throw new InvalidOperationException("No free pair of loopback ports found after 200 attempts.");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            listener.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
