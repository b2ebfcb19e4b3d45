using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace NodeAgent.Testing.K3s;

/// <summary>
/// A block of loopback addresses 127.A.B.1..N for one stand-in cluster, so each node has an IP of its
/// own with etcd on :2379/:2380 as K3s has. A.B is random per fixture, never handed out twice in one
/// test run, and taken only when every address's ports bind (another engineer's run may hold one).
/// </summary>
public static class LoopbackBlock
{
    private static readonly HashSet<(int, int)> Given = [];
    private static readonly Lock Gate = new();

    public static IReadOnlyList<string> Reserve(int count)
    {
        lock (Gate)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var a = RandomNumberGenerator.GetInt32(16, 250);
                var b = RandomNumberGenerator.GetInt32(0, 256);
                if (Given.Contains((a, b)))
                {
                    continue;
                }
                var ips = Enumerable.Range(1, count).Select(n => $"127.{a}.{b}.{n}").ToList();
                if (ips.All(ip => Binds(ip, 2379) && Binds(ip, 2380)))
                {
                    Given.Add((a, b));
                    return ips;
                }
            }
        }
        throw new InvalidOperationException("No free 127.A.B.0/24 block with ports 2379 and 2380 free after 200 attempts.");
    }

    private static bool Binds(string ip, int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Parse(ip), port);
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
