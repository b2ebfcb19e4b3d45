using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// The loopback address a cluster-reset has etcd advertise its client URL on (Rancher's workaround
/// for rke2#4052/k3s#7147): <c>127.0.0.1</c> when the host's loopback interface has an IPv4 address,
/// else <c>[::1]</c> (an IPv6-only host), as a URL host.
/// </summary>
internal static class LoopbackAddress
{
    /// <summary>The choice, from the addresses of the loopback interface(s).</summary>
    public static string Choose(IEnumerable<IPAddress> loopbackAddresses)
        => loopbackAddresses.Any(a => a.AddressFamily == AddressFamily.InterNetwork && IPAddress.IsLoopback(a)) ? "127.0.0.1" : "[::1]";

    /// <summary>The choice for this host.</summary>
    public static string OfHost() => Choose(NetworkInterface.GetAllNetworkInterfaces()
        .Where(i => i.NetworkInterfaceType == NetworkInterfaceType.Loopback)
        .SelectMany(i => i.GetIPProperties().UnicastAddresses)
        .Select(u => u.Address));
}
