using NodeAgent.Contracts.V1;

namespace NodeAgent.Ctl.Output;

/// <summary>What <c>node ls</c> says about the nodes beyond the table.</summary>
internal static class NodeView
{
    /// <summary>
    /// The warning <c>node ls</c> prints on stderr when the runtime's own scheduled snapshots are on
    /// for some nodes; null when they are off everywhere.
    /// </summary>
    public static string? RuntimeSnapshotsWarning(IReadOnlyList<Node> nodes)
    {
        var on = nodes.Where(n => n.RuntimeSnapshotsEnabled).Select(n => n.Name).ToList();
        return on.Count == 0
            ? null
            : $"nodeagentctl: warning: K3s/RKE2's own scheduled etcd snapshots are on for {string.Join(", ", on)}: the runtime and NodeAgent then both "
                + "save into the same snapshot dir and prune the same name prefix by their own retention, so each may delete the other's snapshots; "
                + "turn the runtime's off with 'etcd-disable-snapshots: true' in /etc/rancher/<k3s|rke2>/config.yaml and restart the runtime";
    }

    /// <summary>
    /// The HEALTH column: <c>ok</c> when every probe the agent last reported is healthy, else each
    /// failing one as <c>name: reason</c> (joined by <c>; </c>); empty before the agent reported any.
    /// </summary>
    public static string Health(Node node)
    {
        if (node.Probes.Count == 0)
        {
            return "";
        }
        var failing = node.Probes.Where(p => !p.Healthy).Select(p => $"{p.Name}: {p.Message}").ToList();
        return failing.Count == 0 ? "ok" : string.Join("; ", failing);
    }
}
