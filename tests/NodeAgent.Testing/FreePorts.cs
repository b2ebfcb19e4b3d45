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

    /// <summary>
    /// Where ports are drawn from: below the kernel's ephemeral range (32768–60999), so an outgoing
    /// connection of any process cannot take a port between the check here and the fixture's bind
    /// (a CI run lost a plan server that way), and at random, so test assemblies running at the same
    /// time (each with its own <see cref="Given"/>) rarely draw the same one.
    /// </summary>
    private const int RangeStart = 20000;

    private const int RangeEnd = 32000;

    /// <summary>A free port on 127.0.0.1, avoiding <paramref name="avoid"/> (e.g. Ceph's OSD range).</summary>
    public static int Next(Func<int, bool>? avoid = null)
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var port = Random.Shared.Next(RangeStart, RangeEnd);
                if (avoid?.Invoke(port) == true || Given.Contains(port) || !IsFree(port))
                {
                    continue;
                }
                Given.Add(port);
                return port;
            }
        }
        throw new InvalidOperationException($"No free loopback port in {RangeStart}-{RangeEnd} found after 200 attempts.");
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
