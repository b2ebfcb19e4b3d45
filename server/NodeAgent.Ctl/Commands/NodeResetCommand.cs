using System.CommandLine;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>node reset NAME --cluster C [--yes]</c>: frees a node name for a new agent.</summary>
internal static class NodeResetCommand
{
    public static Command Create(CtlContext ctx) => ConfirmedNodeCommand.Create(
        ctx,
        "reset",
        "Revoke a node's credential: its agent is refused from now on, and the next agent that registers the name with the bootstrap token takes it (a new or reinstalled machine).",
        "The node whose credential is revoked.",
        (node, cluster) => $"Revoke the credential of node {node} in cluster {cluster}? Its agent is refused until it registers again.",
        async (server, cluster, node, ct) => await server.Clusters.ResetNodeAsync(new ResetNodeRequest { Cluster = cluster, Node = node },
            deadline: ServerConnection.Deadline, cancellationToken: ct),
        (node, cluster) => $"node {node} of cluster {cluster}: credential revoked; the next agent to register the name with the bootstrap token takes it");
}
