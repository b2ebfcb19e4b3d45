using System.CommandLine;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>node rm NAME --cluster C [--yes]</c>: removes a lost node for good.</summary>
internal static class NodeRemoveCommand
{
    public static Command Create(CtlContext ctx) => ConfirmedNodeCommand.Create(
        ctx,
        "rm",
        "Remove a node for good (a lost machine): its credential is revoked, its plan is gone and its local snapshot copies leave the catalog (its S3 copies stay). Refused while an operation involves it: cancel that first.",
        "The node to remove.",
        (node, cluster) => $"Remove node {node} from cluster {cluster} for good? Its agent is refused and its local snapshots leave the catalog.",
        async (server, cluster, node, ct) => await server.Clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = cluster, Node = node },
            deadline: ServerConnection.Deadline, cancellationToken: ct),
        (node, cluster) => $"node {node} removed from cluster {cluster}: credential revoked, plan gone, its local snapshots out of the catalog (S3 copies stay)");
}
