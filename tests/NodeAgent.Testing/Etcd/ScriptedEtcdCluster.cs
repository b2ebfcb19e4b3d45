using System.Globalization;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Etcd;

/// <summary>
/// A real etcd cluster whose members are started and stopped by shell scripts, as a service
/// manager would run them: <c>start.sh</c> launches etcd in the background and writes its pid,
/// <c>stop.sh</c> stops it and waits until it is gone. Agents get these scripts as their
/// <c>etcd-start-command</c> / <c>etcd-stop-command</c>, so a restore stops and starts the very
/// members the test reads from.
/// </summary>
public sealed class ScriptedEtcdCluster : IAsyncDisposable
{
    private readonly TempDir _dir;

    private ScriptedEtcdCluster(TempDir dir, IReadOnlyList<ScriptedEtcdMember> members)
    {
        _dir = dir;
        Members = members;
    }

    public IReadOnlyList<ScriptedEtcdMember> Members { get; }

    /// <summary>The --initial-cluster value (name=peerURL,...).</summary>
    public string InitialCluster => string.Join(',', Members.Select(m => $"{m.Name}={m.PeerUrl}"));

    public string Endpoints => string.Join(',', Members.Select(m => m.ClientUrl));

    public static async Task<ScriptedEtcdCluster> StartAsync(int size = 3)
    {
        var dir = new TempDir("nodeagent-etcd-scripted-");
        var cluster = new ScriptedEtcdCluster(dir, ScriptedEtcdMember.CreateCluster(dir.Path, size));
        var members = cluster.Members;
        try
        {
            await Task.WhenAll(members.Select(m => m.StartAsync()));
            await Task.WhenAll(members.Select(m => m.WaitHealthyAsync()));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
        {
            await member.StopAsync();
        }
        _dir.Dispose();
    }
}

/// <summary>One member of a <see cref="ScriptedEtcdCluster"/>: its ports, data dir and scripts; disposing stops it.</summary>
public sealed class ScriptedEtcdMember : IAsyncDisposable
{
    private ScriptedEtcdMember(string dir, string name, int clientPort, int peerPort, string initialCluster)
    {
        Directory = dir;
        Name = name;
        ClientUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{clientPort}");
        PeerUrl = string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{peerPort}");
        InitialCluster = initialCluster;
    }

    public string Directory { get; }

    public string Name { get; }

    public string ClientUrl { get; }

    public string PeerUrl { get; }

    public string InitialCluster { get; }

    public string DataDir => Path.Combine(Directory, "data");

    public string StartCommand => $"/bin/sh {Path.Combine(Directory, "start.sh")}";

    public string StopCommand => $"/bin/sh {Path.Combine(Directory, "stop.sh")}";

    public string LogPath => Path.Combine(Directory, "etcd.log");

    /// <summary>The members of one cluster under <paramref name="root"/> (<c>m0</c>, <c>m1</c>, ... with the default <paramref name="prefix"/>), scripts written, nothing started.</summary>
    public static IReadOnlyList<ScriptedEtcdMember> CreateCluster(string root, int size, string prefix = "m")
    {
        var ports = Enumerable.Range(0, size).Select(_ => (Client: FreePorts.Next(), Peer: FreePorts.Next())).ToArray();
        var initial = string.Join(',', ports.Select((p, i) => string.Create(CultureInfo.InvariantCulture, $"{prefix}{i}=http://127.0.0.1:{p.Peer}")));
        return ports.Select((p, i) => Write(Path.Combine(root, $"{prefix}{i}"), $"{prefix}{i}", p.Client, p.Peer, initial)).ToList();
    }

    private static ScriptedEtcdMember Write(string dir, string name, int clientPort, int peerPort, string initialCluster)
    {
        System.IO.Directory.CreateDirectory(dir);
        var member = new ScriptedEtcdMember(dir, name, clientPort, peerPort, initialCluster);
        var pid = Path.Combine(dir, "etcd.pid");
        File.WriteAllText(Path.Combine(dir, "start.sh"), $"""
            #!/bin/sh
            # Starts etcd member {name} in the background, as its service would, and records its pid.
            set -e
            if [ -f {pid} ] && kill -0 "$(cat {pid})" 2>/dev/null; then exit 0; fi
            setsid {EtcdServer.Binary} --name {name} --data-dir {member.DataDir} \
              --listen-client-urls {member.ClientUrl} --advertise-client-urls {member.ClientUrl} \
              --listen-peer-urls {member.PeerUrl} --initial-advertise-peer-urls {member.PeerUrl} \
              --initial-cluster {initialCluster} --initial-cluster-state new --initial-cluster-token nodeagent-test \
              --logger zap --log-outputs stderr --log-level warn >>{member.LogPath} 2>&1 </dev/null &
            echo $! > {pid}
            """.Replace("\r", "", StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(dir, "stop.sh"), $"""
            #!/bin/sh
            # Stops etcd member {name} and waits until it is gone (SIGKILL after 20 s).
            [ -f {pid} ] || exit 0
            p=$(cat {pid})
            if kill "$p" 2>/dev/null; then
              if ! timeout 20 tail --pid="$p" -s 0.1 -f /dev/null; then kill -9 "$p" 2>/dev/null; timeout 5 tail --pid="$p" -s 0.1 -f /dev/null; fi
            fi
            rm -f {pid}
            """.Replace("\r", "", StringComparison.Ordinal));
        return member;
    }

    public async Task StartAsync() => (await CommandRunner.RunAsync("/bin/sh", [Path.Combine(Directory, "start.sh")], timeout: TestTimeouts.Slow)).EnsureSuccess();

    public async Task StopAsync() => (await CommandRunner.RunAsync("/bin/sh", [Path.Combine(Directory, "stop.sh")], timeout: TestTimeouts.Slow)).EnsureSuccess();

    public async ValueTask DisposeAsync() => await StopAsync();

    /// <summary>Waits until the member answers a linearizable read (so it has a leader).</summary>
    public async Task WaitHealthyAsync()
    {
        using var cts = new CancellationTokenSource(TestTimeouts.Slow);
        while (true)
        {
            var health = await new Tools.Etcdctl(ClientUrl).RunAsync(["endpoint", "health"], TimeSpan.FromSeconds(10), cts.Token);
            if (health.Succeeded)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), cts.Token);
        }
    }
}
