using System.Globalization;
using System.Text.Json;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Processes;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Testing.K3s;

/// <summary>One member as <c>etcdctl member list</c> shows it from some node.</summary>
public sealed record StandInMember(string Id, string Name, string PeerUrl, bool IsLearner);

/// <summary>
/// One stand-in server node: its root, scripts and etcd URLs (see <see cref="K3sStandInCluster"/>).
/// <c>bin/&lt;rt&gt;</c> runs the stand-in; <c>bin/&lt;rt&gt;-service start|stop|restart|kill</c> is its
/// service as systemd runs it (start launches <c>server</c> detached with a pid file and returns; stop
/// TERMs the process group and waits); <c>bin/&lt;rt&gt;-killall.sh</c> kills the server and its etcd.
/// </summary>
public sealed class K3sStandInNode
{
    private readonly TimeSpan _promotePeriod;

    private K3sStandInNode(string root, string name, string runtime, string ip, TimeSpan promotePeriod)
    {
        Root = root;
        Name = name;
        Runtime = runtime;
        Ip = ip;
        _promotePeriod = promotePeriod;
    }

    public string Root { get; }

    public string Name { get; }

    public string Runtime { get; }

    /// <summary>The node's own loopback IP (its node-ip).</summary>
    public string Ip { get; }

    public string BinDir => Path.Combine(Root, "bin");

    /// <summary>bin/k3s or bin/rke2: the wrapper the agent knows as runtime-binary.</summary>
    public string RuntimeBinary => Path.Combine(BinDir, Runtime);

    public string KillallScript => Path.Combine(BinDir, Runtime + "-killall.sh");

    public string ServiceScript => Path.Combine(BinDir, Runtime + "-service");

    public string StartCommand => $"/bin/sh {ServiceScript} start";

    public string RestartCommand => $"/bin/sh {ServiceScript} restart";

    public string ConfigPath => Path.Combine(Root, "etc", "rancher", Runtime, "config.yaml");

    public string DropInDir => ConfigPath + ".d";

    public string DataDir => Path.Combine(Root, "var", "lib", "rancher", Runtime);

    public string ServerDir => Path.Combine(DataDir, "server");

    public string DbDir => Path.Combine(ServerDir, "db");

    public string EtcdDir => Path.Combine(DbDir, "etcd");

    /// <summary>Air-gap layout: <c>&lt;dir&gt;/&lt;version&gt;/&lt;rt&gt;</c>, one wrapper per version (see <see cref="AddAvailableVersion"/>).</summary>
    public string RuntimeVersionsDir => Path.Combine(Root, "versions");

    /// <summary>What the service (server) printed, across every start.</summary>
    public string LogPath => Path.Combine(Root, Runtime + ".log");

    public string Log => File.Exists(LogPath) ? File.ReadAllText(LogPath) : "";

    public string ClientUrl => $"http://{Ip}:2379";

    public string PeerUrl => $"http://{Ip}:2380";

    /// <summary>The URL other servers put in <c>server:</c>: https://ip:6443 (k3s) or :9345 (rke2, the supervisor).</summary>
    public string JoinUrl => $"https://{Ip}:{(Runtime == "rke2" ? 9345 : 6443)}";

    /// <summary>The CA marker (<c>server/tls/server-ca.crt</c>), or null when missing.</summary>
    public string? CaMarker => File.Exists(Path.Combine(ServerDir, "tls", "server-ca.crt")) ? File.ReadAllText(Path.Combine(ServerDir, "tls", "server-ca.crt")).Trim() : null;

    /// <summary>The member name in <c>db/etcd/name</c>, or null when missing.</summary>
    public string? MemberName => File.Exists(Path.Combine(EtcdDir, "name")) ? File.ReadAllText(Path.Combine(EtcdDir, "name")).Trim() : null;

    internal static K3sStandInNode Create(string root, string name, string runtime, string ip, string version, TimeSpan promotePeriod)
    {
        var node = new K3sStandInNode(root, name, runtime, ip, promotePeriod);
        Directory.CreateDirectory(node.BinDir);
        Directory.CreateDirectory(Path.GetDirectoryName(node.ConfigPath)!);
        node.WriteWrapper(node.RuntimeBinary, version);
        var run = Path.Combine(root, "run");
        WriteScript(node.ServiceScript, $"""
            #!/bin/sh
            # {name}'s {runtime} service, as systemd runs it: start launches "{runtime} server" in a session of its own
            # and returns; stop TERMs its process group and waits (KILL after 20 s); kill is what killall does.
            RUN={run}
            mkdir -p "$RUN"
            alive() {"{"} [ -f "$1" ] && p=$(cat "$1") && kill -0 "$p" 2>/dev/null && grep -qa "{root}" /proc/"$p"/cmdline 2>/dev/null; {"}"}
            end() {"{"}
              for f in "$RUN/server.pid" "$RUN/etcd.pid"; do
                if alive "$f"; then
                  p=$(cat "$f")
                  kill -"$1" -- -"$p" 2>/dev/null || kill -"$1" "$p" 2>/dev/null
                  if ! timeout 20 tail --pid="$p" -s 0.1 -f /dev/null; then kill -9 -- -"$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; timeout 5 tail --pid="$p" -s 0.1 -f /dev/null; fi
                fi
                rm -f "$f"
              done
            {"}"}
            case "$1" in
              start) alive "$RUN/server.pid" && exit 0
                     setsid {node.RuntimeBinary} server >>{node.LogPath} 2>&1 </dev/null &
                     echo $! > "$RUN/server.pid" ;;
              stop) end TERM ;;
              restart) end TERM; exec /bin/sh "$0" start ;;
              kill) end KILL ;;
              *) echo "usage: $0 start|stop|restart|kill" >&2; exit 2 ;;
            esac
            """);
        WriteScript(node.KillallScript, $"""
            #!/bin/sh
            # {runtime}-killall.sh for {name}: kills its {runtime} server and etcd (K3s's embedded etcd dies with it) and waits.
            exec /bin/sh {node.ServiceScript} kill
            """);
        return node;
    }

    /// <summary>The node's config keys every test wants: token, node-name, node-ip.</summary>
    public string BaseConfig(string token) => $"token: \"{token}\"\nnode-name: \"{Name}\"\nnode-ip: \"{Ip}\"\n";

    public void WriteConfig(string yaml) => File.WriteAllText(ConfigPath, yaml);

    public void WriteDropIn(string fileName, string yaml)
    {
        Directory.CreateDirectory(DropInDir);
        File.WriteAllText(Path.Combine(DropInDir, fileName), yaml);
    }

    /// <summary>Puts <c>&lt;versions&gt;/&lt;version&gt;/&lt;rt&gt;</c> in place: this node's wrapper reporting <paramref name="version"/>.</summary>
    public string AddAvailableVersion(string version)
    {
        var path = Path.Combine(RuntimeVersionsDir, version, Runtime);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteWrapper(path, version);
        return path;
    }

    /// <summary>The agent's keys for this node (plus the plan server's: server, server-ca, cluster, token).</summary>
    public Dictionary<string, string> AgentConfig(string roles = "etcd,control-plane") => new()
    {
        ["node-name"] = Name,
        ["roles"] = roles,
        ["runtime"] = Runtime,
        ["data-dir"] = DataDir,
        ["runtime-config"] = ConfigPath,
        ["runtime-binary"] = RuntimeBinary,
        ["killall-script"] = KillallScript,
        ["service-start-command"] = StartCommand,
        ["service-restart-command"] = RestartCommand,
        ["etcd-endpoints"] = ClientUrl,
    };

    public async Task StartAsync() => (await CommandRunner.RunAsync("/bin/sh", [ServiceScript, "start"], timeout: TestTimeouts.Default)).EnsureSuccess();

    public async Task StopAsync() => (await CommandRunner.RunAsync("/bin/sh", [ServiceScript, "stop"], timeout: TestTimeouts.Default)).EnsureSuccess();

    public async Task KillAsync() => (await CommandRunner.RunAsync("/bin/sh", [ServiceScript, "kill"], timeout: TestTimeouts.Default)).EnsureSuccess();

    /// <summary>Runs <c>bin/&lt;rt&gt; args…</c> to completion (e.g. <c>server --cluster-reset …</c>).</summary>
    public Task<CommandResult> RunAsync(IEnumerable<string> args, TimeSpan? timeout = null)
        => CommandRunner.RunAsync(RuntimeBinary, args, timeout: timeout ?? TestTimeouts.Slow);

    /// <summary>The default bound of <see cref="WaitReadyAsync"/>: a start or a join on a busy 2-core host.</summary>
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    /// <summary>Waits until the server says it is up (<c>run/ready</c>, its READY=1) and its etcd is a voting member serving a linearizable read (K3s's ready test).</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? ReadyTimeout;
        using var cts = new CancellationTokenSource(limit);
        while (!cts.IsCancellationRequested)
        {
            try
            {
                var id = (await StatusAsync(cts.Token)).MemberId;
                var members = await MembersAsync(cts.Token);
                if (File.Exists(Path.Combine(Root, "run", "ready"))
                    && members.Any(m => m.Id == id && !m.IsLearner)
                    && (await new Etcdctl(ClientUrl).RunAsync(["endpoint", "health"], TimeSpan.FromSeconds(10), cts.Token)).Succeeded)
                {
                    return;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(250), cts.Token);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.Text.Json.JsonException or OperationCanceledException)
            {
                // Not answering yet, or the bound is reached (the loop ends).
            }
        }
        throw new TimeoutException($"{Name} was not ready within {limit}.\n{Log}");
    }

    /// <summary>
    /// Waits (bounded) until the server's log holds <paramref name="text"/>: a stand-in logs what it did
    /// once etcd answered, so etcd can show the result (a promoted member) a moment before the line is written.
    /// </summary>
    public async Task WaitForLogAsync(string text, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TestTimeouts.Default;
        using var cts = new CancellationTokenSource(limit);
        while (!Log.Contains(text, StringComparison.Ordinal))
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{Name}'s log did not show \"{text}\" within {limit}.\n{Log}");
            }
        }
    }

    /// <summary>The member list as this node's etcd serves it.</summary>
    public async Task<IReadOnlyList<StandInMember>> MembersAsync(CancellationToken cancellationToken = default)
    {
        var result = (await new Etcdctl(ClientUrl).RunAsync(["member", "list", "-w", "json"], TimeSpan.FromSeconds(10), cancellationToken)).EnsureSuccess();
        using var doc = JsonDocument.Parse(result.StandardOutput);
        return [.. doc.RootElement.GetProperty("members").EnumerateArray().Select(m => new StandInMember(
            m.GetProperty("ID").GetUInt64().ToString("x", CultureInfo.InvariantCulture),
            m.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "",
            m.GetProperty("peerURLs")[0].GetString() ?? "",
            m.TryGetProperty("isLearner", out var l) && l.GetBoolean()))];
    }

    /// <summary>This node's etcd: cluster id, its member id and the leader's (hex).</summary>
    public async Task<(string ClusterId, string MemberId, string Leader)> StatusAsync(CancellationToken cancellationToken = default)
    {
        var result = (await new Etcdctl(ClientUrl).RunAsync(["endpoint", "status", "-w", "json"], TimeSpan.FromSeconds(10), cancellationToken)).EnsureSuccess();
        var status = EndpointStatusJson.Parse(result.StandardOutput);
        static string Hex(ulong id) => id.ToString("x", CultureInfo.InvariantCulture);
        return (Hex(status.ClusterId), Hex(status.MemberId), Hex(status.Leader));
    }

    /// <summary>Every key this member serves under <paramref name="prefix"/>, with the sha256 of its value.</summary>
    public Task<IReadOnlyDictionary<string, string>> KeysAsync(string prefix = "/") => EtcdData.ReadAllAsync(ClientUrl, prefix);

    private void WriteWrapper(string path, string version)
        => WriteScript(path, $"""
            #!/bin/sh
            # {Runtime} {version} on {Name}: the k3s-standin (tests/NodeAgent.K3sStandIn) for this node's root.
            exec {RepoPaths.Executable("k3s-standin")} --standin-runtime {Runtime} --standin-version {version} --standin-node-root {Root} --standin-promote-period {_promotePeriod.TotalSeconds.ToString(CultureInfo.InvariantCulture)} "$@"
            """);

    private static void WriteScript(string path, string text)
    {
        File.WriteAllText(path, text.Replace("\r", "", StringComparison.Ordinal) + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }
}
