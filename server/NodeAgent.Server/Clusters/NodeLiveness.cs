using System.Globalization;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Clusters;

/// <summary>What the server knows in memory of each agent's calls (implemented by the agent API's connection tracker).</summary>
internal interface INodePresence
{
    /// <summary>Whether the agent holds an open GetPlan call right now.</summary>
    bool IsConnected(string cluster, string node);

    /// <summary>When the agent last called (poll or report) since this server started; null if it has not.</summary>
    DateTimeOffset? LastActive(string cluster, string node);
}

/// <summary>A node's liveness as operators and operations see it.</summary>
internal sealed record NodeLivenessView(bool Connected, DateTimeOffset? LastSeen, bool Unreachable);

/// <summary>
/// Whether a node answers: connected now, else seen (a poll or a report) within
/// <c>--node-unreachable-after</c>. An agent long-polls without pause, so a live one is connected
/// nearly always and seen at least every poll-wait; the default bound (3m) is three of the agents'
/// default 60s polls. A node never seen counts from its registration.
/// </summary>
internal sealed class NodeLiveness(INodePresence presence, NodeLivenessOptions options, TimeProvider time)
{
    public TimeSpan UnreachableAfter => options.UnreachableAfter;

    public NodeLivenessView Of(NodeRecord node)
    {
        var connected = presence.IsConnected(node.Cluster, node.Name);
        var lastSeen = Latest(node.LastSeen, presence.LastActive(node.Cluster, node.Name));
        var since = time.GetUtcNow() - (lastSeen ?? node.RegisteredAt);
        return new NodeLivenessView(connected, lastSeen, !connected && since > options.UnreachableAfter);
    }

    public bool IsUnreachable(NodeRecord node) => Of(node).Unreachable;

    /// <summary>"node3 (last seen 2026-11-24T12:00:00Z, 5m ago)", for refusals and skips.</summary>
    public string Describe(NodeRecord node)
    {
        var view = Of(node);
        if (view.LastSeen is not { } seen)
        {
            return $"{node.Name} (never seen since it registered {node.RegisteredAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)})";
        }
        var ago = time.GetUtcNow() - seen;
        return $"{node.Name} (last seen {seen.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}, {Ago(ago)} ago)";
    }

    /// <summary>A bound as the flag takes it: "90s", "3m", "1h".</summary>
    public static string Format(TimeSpan span) => span.TotalSeconds % 3600 == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h")
        : span.TotalSeconds % 60 == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalSeconds}s");

    private static string Ago(TimeSpan span) => span.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours}h{span.Minutes}m")
        : span.TotalMinutes >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes}m{span.Seconds}s")
            : string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, (int)span.TotalSeconds)}s");

    private static DateTimeOffset? Latest(DateTimeOffset? a, DateTimeOffset? b)
        => a is null ? b : b is null ? a : a > b ? a : b;
}

/// <summary>The plan server's <c>--node-unreachable-after</c>.</summary>
internal sealed record NodeLivenessOptions(TimeSpan UnreachableAfter)
{
    public static readonly TimeSpan DefaultUnreachableAfter = TimeSpan.FromMinutes(3);
}
