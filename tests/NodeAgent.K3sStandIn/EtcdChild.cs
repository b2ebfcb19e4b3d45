using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NodeAgent.K3sStandIn;

/// <summary>
/// The real etcd the stand-in runs in K3s's layout (<c>server/db/etcd</c>), on the node's own IP
/// (client :2379, peer :2380, plaintext), with heartbeat 100 ms / election 1 s (K3s: 500 ms / 5 s,
/// made faster so tests are quick). Its pid goes to <c>&lt;node-root&gt;/run/etcd.pid</c> so the
/// node's killall script and the fixture can always find it.
/// </summary>
internal sealed class EtcdChild : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _pidFile;
    private readonly TaskCompletionSource _removed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private EtcdChild(Process process, string pidFile)
    {
        _process = process;
        _pidFile = pidFile;
    }

    /// <summary>Completes when etcd says this member was permanently removed from the cluster.</summary>
    public Task Removed => _removed.Task;

    public Task Exited => _process.WaitForExitAsync();

    public static EtcdChild Start(ServerSettings settings, string name, string initialCluster, string state, bool forceNewCluster, StandInLog log)
    {
        Directory.CreateDirectory(settings.EtcdDir);
        File.SetUnixFileMode(settings.EtcdDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var args = new List<string>
        {
            "--name", name,
            "--data-dir", settings.EtcdDir,
            "--listen-client-urls", settings.ClientUrl,
            "--advertise-client-urls", settings.ClientUrl,
            "--listen-peer-urls", settings.PeerUrl,
            "--initial-advertise-peer-urls", settings.PeerUrl,
            "--initial-cluster", initialCluster,
            "--initial-cluster-state", state,
            "--heartbeat-interval", "100",
            "--election-timeout", "1000",
            "--logger", "zap",
            "--log-outputs", "stderr",
        };
        if (forceNewCluster)
        {
            args.Add("--force-new-cluster");
        }
        // K3s rewrites db/etcd/config (etcd's YAML) on every start; kept here as a record of what ran.
        var config = new StringBuilder();
        for (var i = 0; i < args.Count; i += 2)
        {
            config.Append(CultureInfo.InvariantCulture, $"{args[i].TrimStart('-')}: {(i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[i + 1] : "true")}\n");
        }
        File.WriteAllText(Path.Combine(settings.EtcdDir, "config"), config.ToString());
        var psi = new ProcessStartInfo(WrapperSettings.EtcdBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }
        var process = Process.Start(psi) ?? throw new StandInException("cannot start etcd");
        Directory.CreateDirectory(settings.RunDir);
        var pidFile = Path.Combine(settings.RunDir, "etcd.pid");
        File.WriteAllText(pidFile, process.Id.ToString(CultureInfo.InvariantCulture) + "\n");
        var child = new EtcdChild(process, pidFile);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data, log);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data, log);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    private void OnLine(string? line, StandInLog log)
    {
        if (line is null)
        {
            return;
        }
        log.Etcd(line);
        if (line.Contains("the member has been permanently removed from the cluster", StringComparison.Ordinal))
        {
            _removed.TrySetResult();
        }
    }

    /// <summary>SIGTERM, then SIGKILL after 20 s; waits until etcd is gone.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Signal(_process.Id, 15);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        File.Delete(_pidFile);
        _process.Dispose();
    }

    /// <summary>SIGTERM through kill(1): .NET can only SIGKILL a child.</summary>
    private static void Signal(int pid, int signal)
    {
        using var kill = Process.Start("/bin/kill", ["-" + signal.ToString(CultureInfo.InvariantCulture), pid.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
