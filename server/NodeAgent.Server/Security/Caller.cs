using System.Security.Claims;

namespace NodeAgent.Server.Security;

/// <summary>Who is calling, as the token authentication established it.</summary>
internal static class Caller
{
    public const string Scheme = "NodeAgentToken";
    public const string AdminRole = "admin";
    public const string NodeRole = "node";
    public const string ClusterClaim = "nodeagent/cluster";
    public const string NodeClaim = "nodeagent/node";

    public static ClaimsPrincipal Admin()
        => new(new ClaimsIdentity([new Claim(ClaimTypes.Name, "admin"), new Claim(ClaimTypes.Role, AdminRole)], Scheme));

    public static ClaimsPrincipal Node(string cluster, string node)
        => new(new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, $"{cluster}/{node}"),
                new Claim(ClaimTypes.Role, NodeRole),
                new Claim(ClusterClaim, cluster),
                new Claim(NodeClaim, node),
            ], Scheme));

    /// <summary>True when the principal is the agent of exactly this node.</summary>
    public static bool IsNode(ClaimsPrincipal user, string cluster, string node)
        => user.IsInRole(NodeRole)
            && string.Equals(user.FindFirstValue(ClusterClaim), cluster, StringComparison.Ordinal)
            && string.Equals(user.FindFirstValue(NodeClaim), node, StringComparison.Ordinal);
}
