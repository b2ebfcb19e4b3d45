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

    private const string NodeRecordItem = "nodeagent/node-record";

    /// <summary>Keeps the node record the credential was checked against with the request, so the call need not read it again.</summary>
    public static void KeepNodeRecord(Microsoft.AspNetCore.Http.HttpContext context, Store.NodeRecord node) => context.Items[NodeRecordItem] = node;

    /// <summary>The node record read when this request's credential was checked, if it is <paramref name="cluster"/>/<paramref name="node"/>'s.</summary>
    public static Store.NodeRecord? NodeRecordOf(Microsoft.AspNetCore.Http.HttpContext context, string cluster, string node)
        => context.Items.TryGetValue(NodeRecordItem, out var item) && item is Store.NodeRecord record && record.Cluster == cluster && record.Name == node ? record : null;

    /// <summary>True when the principal is the agent of exactly this node.</summary>
    public static bool IsNode(ClaimsPrincipal user, string cluster, string node)
        => user.IsInRole(NodeRole)
            && string.Equals(user.FindFirstValue(ClusterClaim), cluster, StringComparison.Ordinal)
            && string.Equals(user.FindFirstValue(NodeClaim), node, StringComparison.Ordinal);
}
