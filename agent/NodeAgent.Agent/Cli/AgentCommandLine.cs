using System.CommandLine;

namespace NodeAgent.Agent.Cli;

/// <summary>The node-agent command tree. Each feature adds its own subcommand here.</summary>
internal static class AgentCommandLine
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "node-agent: backs up and restores the etcd datastore of a K3s, RKE2 or plain etcd node: "
            + "run is the daemon that follows the plan server; etcd-snapshot works alone on this node.");
        root.Add(RunCommand.Create());
        root.Add(EtcdSnapshotCommand.Create());
        return root;
    }
}
