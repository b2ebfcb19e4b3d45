using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NodeAgent.Testing;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.Processes;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// The README's main job, <c>./run.sh</c>, as a user runs it (on free ports, with its state in a
/// temporary directory, the build already done): it starts etcd, the plan server and an agent,
/// takes a one-time snapshot through the plan server and prints the catalog; Ctrl-C (SIGINT)
/// stops everything and leaves no process behind.
/// </summary>
[ExpectedDuration(180)]
public sealed class RunScriptTests : IDisposable
{
    private readonly TempDir _state = new("nodeagent-runsh-");

    public void Dispose() => _state.Dispose();

    [Fact]
    public async Task RunSh_SnapshotsThroughThePlanServer_AndCtrlCStopsEverything()
    {
        var etcdPort = FreeAdjacentPorts();
        var listen = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{FreePorts.Next()}");
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var run = ManagedProcess.Start(Path.Combine(RepoPaths.Root, "run.sh"), [], new Dictionary<string, string?>
        {
            ["NODEAGENT_RUN_NO_BUILD"] = "1",
            ["NODEAGENT_RUN_ETCD_PORT"] = etcdPort.ToString(CultureInfo.InvariantCulture),
            ["NODEAGENT_RUN_LISTEN"] = listen,
            ["NODEAGENT_RUN_METRICS_LISTEN"] = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{FreePorts.Next()}"),
            ["NODEAGENT_RUN_STATE"] = _state.Path,
        }, RepoPaths.Root);
        run.LinePrinted += line =>
        {
            if (line.StartsWith("NodeAgent is running", StringComparison.Ordinal))
            {
                running.TrySetResult();
            }
        };
        if (run.Output.Contains("NodeAgent is running", StringComparison.Ordinal))
        {
            running.TrySetResult();
        }

        try
        {
            await running.Task.WithTimeout(TestTimeouts.Slow);
        }
        catch (TimeoutException ex)
        {
            var logs = string.Join("\n", new[] { "agent.log", "plan-server.log", "etcd.log" }
                .Select(f => Path.Combine(_state.Path, f)).Where(File.Exists).Select(f => $"--- {f}\n{File.ReadAllText(f)}"));
            throw new TimeoutException($"{ex.Message}; run.sh printed:\n{run.Output}\n{logs}", ex);
        }
        var output = run.Output;
        run.Signal("INT");
        using var cts = new CancellationTokenSource(TestTimeouts.Slow);
        await run.WaitForExitAsync(cts.Token);

        Assert.Contains("Finished", output, StringComparison.Ordinal);
        Assert.Matches(@"on-demand-local-\d+\s+local\s+local\s+file://", output); // NAME NODE CLUSTER LOCATION
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("run.sh: stopped", run.Output, StringComparison.Ordinal);
        // No process of this run is left: none names the state directory on its command line.
        Assert.Empty(ProcessesNaming(_state.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_state.Path, "agent", "config.yaml")));
    }

    private static List<string> ProcessesNaming(string text)
    {
        var found = new List<string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _))
            {
                continue;
            }
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(text, StringComparison.Ordinal))
                {
                    found.Add($"{Path.GetFileName(dir)}: {cmdline}");
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
        }
        return found;
    }

    /// <summary>A free port whose successor is free too (run.sh puts etcd's peer port there).</summary>
    private static int FreeAdjacentPorts()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var port = FreePorts.Next();
            try
            {
                using var next = new TcpListener(IPAddress.Loopback, port + 1);
                next.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("no two adjacent free ports on 127.0.0.1");
    }
}
