using System.Globalization;
using NodeAgent.Agent.Config;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// A real etcd member (Debian's /usr/bin/etcd) that is not started by the test but by the shell
/// commands the agent is configured with, as a service manager would: <c>start.sh</c> launches
/// etcd in the background (output to a log file, so it does not hold the agent's pipes) and writes
/// a pidfile; <c>stop.sh</c> sends SIGTERM and returns once the process is gone.
/// </summary>
internal sealed class ScriptedEtcdMember : IAsyncDisposable
{
    private ScriptedEtcdMember(string root, string name, int clientPort, int peerPort)
    {
        Root = root;
        Name = name;
        ClientPort = clientPort;
        PeerPort = peerPort;
    }

    public string Root { get; }

    public string Name { get; }

    public int ClientPort { get; }

    public int PeerPort { get; }

    public string ClientUrl => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{ClientPort}");

    public string PeerUrl => string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{PeerPort}");

    public string DataDir => Path.Combine(Root, "etcd", "data");

    public string StartScript => Path.Combine(Root, "start.sh");

    public string StopScript => Path.Combine(Root, "stop.sh");

    public string SnapshotDir => Path.Combine(Root, "snapshots");

    /// <summary>Members of one cluster; nothing runs yet.</summary>
    public static IReadOnlyList<ScriptedEtcdMember> Create(TempDir dir, int count)
    {
        var members = Enumerable.Range(0, count)
            .Select(i => new ScriptedEtcdMember(dir.Combine($"m{i}"), $"m{i}", FreePorts.Next(), FreePorts.Next()))
            .ToList();
        var initialCluster = string.Join(',', members.Select(m => $"{m.Name}={m.PeerUrl}"));
        foreach (var member in members)
        {
            member.WriteScripts(initialCluster);
        }
        return members;
    }

    /// <summary>The agent's config for this member, written as a config file and read by the real loader.</summary>
    public AgentOptions Options(IReadOnlyList<ScriptedEtcdMember> cluster)
    {
        var config = Path.Combine(Root, "config.yaml");
        File.WriteAllText(config, $"""
            server: https://127.0.0.1:9
            cluster: c1
            node-name: {Name}
            runtime: etcd
            data-dir: {Root}
            state-dir: {Path.Combine(Root, "state")}
            etcd-endpoints: {ClientUrl}
            etcd-stop-command: {StopScript}
            etcd-start-command: {StartScript}
            etcd-data-dir: {DataDir}
            etcd-initial-cluster: {string.Join(',', cluster.Select(m => $"{m.Name}={m.PeerUrl}"))}

            """);
        File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return AgentConfigLoader.Load(config, new Dictionary<string, string>(), new Dictionary<string, string>());
    }

    private void WriteScripts(string initialCluster)
    {
        Directory.CreateDirectory(Root);
        var pidfile = Path.Combine(Root, "etcd.pid");
        Write(StartScript, $"""
            #!/bin/sh
            # Starts this member in the background, as a service manager would.
            set -e
            mkdir -p '{Path.GetDirectoryName(DataDir)}'
            {EtcdServer.Binary} --name {Name} --data-dir '{DataDir}' \
              --listen-client-urls {ClientUrl} --advertise-client-urls {ClientUrl} \
              --listen-peer-urls {PeerUrl} --initial-advertise-peer-urls {PeerUrl} \
              --initial-cluster {initialCluster} --initial-cluster-state new --initial-cluster-token nodeagent-test \
              --logger zap --log-outputs stderr --log-level warn </dev/null >>'{Path.Combine(Root, "etcd.log")}' 2>&1 &
            echo $! > '{pidfile}'

            """);
        Write(StopScript, $"""
            #!/bin/sh
            # Stops this member and returns once the process has exited.
            [ -f '{pidfile}' ] || exit 0
            pid=$(cat '{pidfile}')
            if kill "$pid" 2>/dev/null; then
              tail --pid="$pid" -s 0.1 -f /dev/null
            fi
            rm -f '{pidfile}'

            """);
    }

    private static void Write(string path, string text)
    {
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    /// <summary>Stops the member if it still runs.</summary>
    public async ValueTask DisposeAsync()
        => await CommandRunner.RunAsync(StopScript, [], timeout: TestTimeouts.Default);
}
