using System.Net;
using System.Net.Sockets;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Clusters;

/// <summary>
/// The address a K3s/RKE2 server advertises, as its agent reports it: an IP address (K3s's
/// <c>advertise-address</c> and <c>node-ip</c> are), so the join URL the other servers get after a
/// restore is well formed.
/// </summary>
internal static class AdvertiseAddress
{
    /// <summary>The address as reported ("" when not), or INVALID_ARGUMENT naming <paramref name="field"/>.</summary>
    public static string Require(string address, string field)
        => address.Length == 0 || IPAddress.TryParse(address, out _) && !address.Contains('%', StringComparison.Ordinal)
            ? address
            : throw DomainException.Invalid($"{field}: '{address}' is not an IP address");

    /// <summary>K3s/RKE2's supervisor (join) URL on the server advertising <paramref name="address"/>: port 9345 for RKE2, 6443 for K3s; IPv6 in brackets.</summary>
    public static string JoinUrl(Runtime runtime, string address)
    {
        var host = IPAddress.TryParse(address, out var ip) && ip.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address;
        return $"https://{host}:{(runtime == Runtime.Rke2 ? 9345 : 6443)}";
    }
}
