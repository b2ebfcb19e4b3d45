using System.CommandLine;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>node reset NAME --cluster C [--yes]</c>: frees a node name for a new agent.</summary>
internal static class NodeResetCommand
{
    public static Command Create(CtlContext ctx)
    {
        var name = new Argument<string>("name") { Description = "The node whose credential is revoked." };
        var cluster = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation." };
        var command = new Command("reset",
            "Revoke a node's credential: its agent is refused from now on, and the next agent that registers the name with the bootstrap token takes it (a new or reinstalled machine).")
        {
            name, cluster, yes,
        };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var node = parse.GetValue(name)!;
            var clusterName = parse.GetValue(cluster)!;
            if (!Confirmation.Ask($"Revoke the credential of node {node} in cluster {clusterName}? Its agent is refused until it registers again.",
                parse.GetValue(yes), Console.In, ctx.Error, !Console.IsInputRedirected))
            {
                return 1;
            }
            await server.Clusters.ResetNodeAsync(new ResetNodeRequest { Cluster = clusterName, Node = node },
                deadline: ServerConnection.Deadline, cancellationToken: ct);
            ctx.Out.WriteLine($"node {node} of cluster {clusterName}: credential revoked; the next agent to register the name with the bootstrap token takes it");
            return 0;
        }));
        return command;
    }
}
