using System.Text;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Agent;

/// <summary>
/// A real <c>artifacts/bin/node-agent run</c> process with a config file (0600) and a state dir
/// in a temporary directory, and its own NOTIFY_SOCKET to watch its systemd notifications.
/// </summary>
public sealed class AgentProcess : IAsyncDisposable
{
    private readonly TempDir _dir;
    private readonly bool _ownsDir;

    private AgentProcess(TempDir dir, bool ownsDir, ManagedProcess process, NotifySocket notify)
    {
        _dir = dir;
        _ownsDir = ownsDir;
        Process = process;
        Notify = notify;
    }

    public ManagedProcess Process { get; }

    public NotifySocket Notify { get; }

    public string StateDir => Path.Combine(_dir.Path, "state");

    public string ConfigPath => Path.Combine(_dir.Path, "config.yaml");

    /// <summary>Writes the config (keys = long flag names) and starts the agent.</summary>
    /// <param name="dir">Reuse a directory (state and config) from an earlier agent; default: a new one.</param>
    public static AgentProcess Start(IReadOnlyDictionary<string, string> config, TempDir? dir = null,
        IReadOnlyDictionary<string, string?>? environment = null, IEnumerable<string>? extraArgs = null)
    {
        var owned = dir is null;
        dir ??= new TempDir("nodeagent-agent-");
        var configPath = Path.Combine(dir.Path, "config.yaml");
        var yaml = new StringBuilder();
        foreach (var (key, value) in config.Append(new KeyValuePair<string, string>("state-dir", Path.Combine(dir.Path, "state"))))
        {
            yaml.Append(key).Append(": \"").Append(value.Replace("\"", "\\\"", StringComparison.Ordinal)).Append("\"\n");
        }
        File.WriteAllText(configPath, "");
        File.SetUnixFileMode(configPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(configPath, yaml.ToString());
        var notify = new NotifySocket();
        var env = new Dictionary<string, string?>(environment ?? new Dictionary<string, string?>()) { ["NOTIFY_SOCKET"] = notify.Path };
        var process = ManagedProcess.Start(RepoPaths.Executable("node-agent"), ["run", "--config", configPath, .. extraArgs ?? []], env);
        return new AgentProcess(dir, owned, process, notify);
    }

    /// <summary>Stops the agent but keeps its directory for a restart; returns it.</summary>
    public async Task<TempDir> StopKeepingStateAsync()
    {
        await Process.StopAsync();
        Notify.Dispose();
        return _dir;
    }

    /// <summary>Kills the agent (SIGKILL, as a crash or an OOM kill would) but keeps its directory for a restart; returns it.</summary>
    public TempDir KillKeepingState()
    {
        Process.Kill();
        Notify.Dispose();
        return _dir;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        Notify.Dispose();
        if (_ownsDir)
        {
            _dir.Dispose();
        }
    }
}
