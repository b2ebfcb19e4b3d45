using System.CommandLine;

namespace NodeAgent.Agent.Cli;

/// <summary>The node-agent command tree. Each feature adds its own subcommand here.</summary>
internal static class AgentCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "node-agent: backs up and restores the etcd datastore of a K3s, RKE2 or plain etcd node. "
            + "Subcommands are added as they are built; see the README for what exists.");
        root.Add(RunCommand.Create());
        return root;
    }
}
