using NodeAgent.Agent.Config;
using NodeAgent.Testing.Etcd;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>An agent beside a <see cref="ScriptedEtcdMember"/>: its snapshot dir and its config, read by the real loader.</summary>
internal static class ScriptedMemberAgent
{
    public static string SnapshotDir(this ScriptedEtcdMember member) => Path.Combine(member.Directory, "snapshots");

    /// <summary>The agent's config for this member, written as a config file and read by the real loader.</summary>
    /// <param name="initialCluster">Give etcd-initial-cluster (every member); false: only this member's peer URL, as a replacement node's config.</param>
    public static AgentOptions Options(this ScriptedEtcdMember member, bool initialCluster = true)
    {
        var members = initialCluster ? $"etcd-initial-cluster: {member.InitialCluster}" : $"etcd-initial-advertise-peer-urls: {member.PeerUrl}";
        var config = Path.Combine(member.Directory, "config.yaml");
        File.WriteAllText(config, $"""
            server: https://127.0.0.1:9
            cluster: c1
            node-name: {member.Name}
            runtime: etcd
            data-dir: {member.Directory}
            state-dir: {Path.Combine(member.Directory, "state")}
            etcd-endpoints: {member.ClientUrl}
            etcd-stop-command: {member.StopCommand}
            etcd-start-command: {member.StartCommand}
            etcd-data-dir: {member.DataDir}
            {members}

            """);
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return AgentConfigLoader.Load(config, new Dictionary<string, string>(), new Dictionary<string, string>());
    }
}
