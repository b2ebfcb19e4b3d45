using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Testing.Agent;

/// <summary>Configs (keys = the long flag names) for <see cref="AgentProcess"/>.</summary>
public static class AgentConfigs
{
    /// <summary>
    /// An agent of runtime etcd beside <paramref name="member"/>, which it stops, restores and starts
    /// with the member's own scripts for a restore. An empty <paramref name="token"/> means "already
    /// registered" (an agent restarted on its state dir keeps its node credential).
    /// </summary>
    public static Dictionary<string, string> ScriptedEtcd(PlanServerProcess server, string cluster, string node, ScriptedEtcdMember member, string token, string dataDir)
    {
        var config = new Dictionary<string, string>
        {
            ["server"] = server.Address.ToString(),
            ["server-ca"] = server.CaFile ?? throw new ArgumentException("agents need a TLS plan server", nameof(server)),
            ["cluster"] = cluster,
            ["token"] = token,
            ["node-name"] = node,
            ["runtime"] = "etcd",
            ["data-dir"] = dataDir,
            ["etcd-endpoints"] = member.ClientUrl,
            ["etcd-data-dir"] = member.DataDir,
            ["etcd-name"] = member.Name,
            ["etcd-initial-cluster"] = member.InitialCluster,
            ["etcd-initial-advertise-peer-urls"] = member.PeerUrl,
            ["etcd-stop-command"] = member.StopCommand,
            ["etcd-start-command"] = member.StartCommand,
            ["poll-wait"] = "20s",
        };
        if (token.Length == 0)
        {
            config.Remove("token");
        }
        return config;
    }
}
