using System.CommandLine;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>node rm NAME --cluster C [--yes]</c>: removes a lost node for good.</summary>
internal static class NodeRemoveCommand
{
    public static Command Create(CtlContext ctx)
    {
        var name = new Argument<string>("name") { Description = "The node to remove." };
        var cluster = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation." };
        var command = new Command("rm",
            "Remove a node for good (a lost machine): its credential is revoked, its plan is gone and its local snapshot copies leave the catalog (its S3 copies stay). Refused while an operation involves it: cancel that first.")
        {
            name, cluster, yes,
        };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var node = parse.GetValue(name)!;
            var clusterName = parse.GetValue(cluster)!;
            if (!Confirmation.Ask($"Remove node {node} from cluster {clusterName} for good? Its agent is refused and its local snapshots leave the catalog.",
                parse.GetValue(yes), Console.In, ctx.Error, !Console.IsInputRedirected))
            {
                return 1;
            }
            await server.Clusters.DeleteNodeAsync(new DeleteNodeRequest { Cluster = clusterName, Node = node },
                deadline: ServerConnection.Deadline, cancellationToken: ct);
            ctx.Out.WriteLine($"node {node} removed from cluster {clusterName}: credential revoked, plan gone, its local snapshots out of the catalog (S3 copies stay)");
            return 0;
        }));
        return command;
    }
}
