using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// The host's primary address, as K3s/RKE2 pick the address they advertise when their config names
/// none: the source address the kernel chooses for the default route (a UDP socket "connected" to an
/// address off every local network: no packet is sent), else the first address of the first
/// non-loopback interface that is up. IPv4 first, then IPv6; empty when the host has neither.
/// </summary>
internal static class HostAddress
{
    // Documentation addresses (TEST-NET-3, 2001:db8::/32): routed by the default route, never answered.
    private static readonly IPAddress[] OffLink = [IPAddress.Parse("203.0.113.1"), IPAddress.Parse("2001:db8::1")];

    public static string Primary()
    {
        foreach (var target in OffLink)
        {
            if (SourceFor(target) is { } source)
            {
                return source.ToString();
            }
        }
        return FirstUp() ?? "";
    }

    private static IPAddress? SourceFor(IPAddress target)
    {
        try
        {
            using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            socket.Connect(target, 9);
            return socket.LocalEndPoint is IPEndPoint { Address: var address } && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any)
                ? address
                : null;
        }
        catch (SocketException)
        {
            // No route of that family (e.g. no default route, or no IPv6).
            return null;
        }
    }

    private static string? FirstUp() => NetworkInterface.GetAllNetworkInterfaces()
        .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
        .SelectMany(i => i.GetIPProperties().UnicastAddresses.Select(u => u.Address))
        .Where(a => !IPAddress.IsLoopback(a) && !a.IsIPv6LinkLocal)
        .OrderBy(a => a.AddressFamily == AddressFamily.InterNetwork ? 0 : 1)
        .Select(a => a.ToString())
        .FirstOrDefault();
}
