using System.CommandLine;

namespace NodeAgent.Ctl.Commands;

/// <summary>The nodeagentctl command tree.</summary>
internal static class CtlCommandLine
{
    public static RootCommand Create(CtlContext? context = null)
    {
        var ctx = context ?? new CtlContext();
        var root = new RootCommand(
            "nodeagentctl: the operator CLI of the NodeAgent plan server. The server (or its replicas), token and CA come from flags, "
            + "NODEAGENT_SERVER / NODEAGENT_TOKEN / NODEAGENT_CA_FILE, or ~/.config/nodeagent/config.yaml.")
        {
            ctx.Server,
            ctx.Token,
            ctx.CaFile,
        };
        root.Add(ClusterCommands.Create(ctx));
        root.Add(ClusterCommands.NodeCommand(ctx));
        root.Add(SnapshotCommands.Create(ctx));
        root.Add(RestoreCommand.Create(ctx));
        root.Add(OperationCommands.Create(ctx));
        return root;
    }
}
