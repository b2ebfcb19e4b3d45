using System.Diagnostics;
using System.Text.RegularExpressions;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// The real node-agent process runs its plan's etcd-health probe against a real etcd and reports
/// it to the real plan-server process; <c>nodeagentctl node ls</c> shows it under HEALTH.
/// </summary>
public sealed partial class ProbesEndToEndTests : IAsyncLifetime, IDisposable
{
    // The plan's probe interval and timeout (the server's NodeProbes), and room for a busy machine.
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30 + 5 + 25);

    private readonly TempDir _home = new();
    private EtcdServer _etcd = null!;
    private PlanServerProcess _server = null!;
    private string _bootstrapToken = "";

    public async Task InitializeAsync()
    {
        _etcd = await EtcdServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        _server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        var clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
        _bootstrapToken = (await clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Contracts.V1.Runtime.Etcd }).ResponseAsync.DefaultTimeout()).BootstrapToken;
    }

    public async Task DisposeAsync()
    {
        _etcd.Process.Signal("CONT");
        await _server.DisposeAsync();
        await _etcd.DisposeAsync();
    }

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task EtcdHealthProbe_EtcdStoppedThenResumed_NodeLsShowsTheReasonWithinTheIntervalThenOk()
    {
        await using var agent = AgentProcess.Start(new Dictionary<string, string>
        {
            ["server"] = _server.Address.ToString(),
            ["server-ca"] = _server.CaFile!,
            ["cluster"] = "prod",
            ["node-name"] = "node-1",
            ["runtime"] = "etcd",
            ["etcd-endpoints"] = _etcd.ClientUrl,
            ["poll-wait"] = "20s",
            ["token"] = _bootstrapToken,
        });
        await agent.Notify.WaitForAsync("READY=1", TestTimeouts.Slow);
        await UntilHealthAsync(h => h == "ok", TestTimeouts.Slow, agent);

        _etcd.Process.Signal("STOP");
        var stopped = Stopwatch.StartNew();
        var failing = await UntilHealthAsync(h => h.StartsWith("etcd-health: ", StringComparison.Ordinal), Bound, agent);
        Assert.True(stopped.Elapsed < Bound, $"seen after {stopped.Elapsed}");
        Assert.Equal("etcd-health: no answer within 5s", failing);

        _etcd.Process.Signal("CONT");
        var resumed = Stopwatch.StartNew();
        await UntilHealthAsync(h => h == "ok", Bound, agent);
        Assert.True(resumed.Elapsed < Bound, $"cleared after {resumed.Elapsed}");
        Assert.Contains("Probe etcd-health failing: no answer within 5s", agent.Process.Output, StringComparison.Ordinal);
    }

    /// <summary>Runs <c>nodeagentctl node ls</c> until node-1's HEALTH passes the check; that cell.</summary>
    private async Task<string> UntilHealthAsync(Func<string, bool> check, TimeSpan timeout, AgentProcess agent)
    {
        using var cts = new CancellationTokenSource(timeout);
        var last = "";
        try
        {
            while (true)
            {
                var ls = await CommandRunner.RunAsync(RepoPaths.Executable("nodeagentctl"), ["node", "ls", "--cluster", "prod"], new Dictionary<string, string?>
                {
                    ["HOME"] = _home.Path,
                    ["NODEAGENT_SERVER"] = _server.Address.ToString(),
                    ["NODEAGENT_TOKEN"] = _server.AdminToken,
                    ["NODEAGENT_CA_FILE"] = _server.CaFile,
                }, timeout: TestTimeouts.Default, cancellationToken: cts.Token);
                Assert.True(ls.ExitCode == 0, ls.StandardError);
                last = Health(ls.StandardOutput);
                if (check(last))
                {
                    return last;
                }
                await Task.Delay(TimeSpan.FromMilliseconds(500), cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"node-1's HEALTH still '{last}' after {timeout}; the agent logged:\n{agent.Process.Output}");
        }
    }

    /// <summary>node-1's HEALTH cell: the table's header says where the column starts (REPORT ERROR follows it).</summary>
    private static string Health(string table)
    {
        var lines = table.Split('\n');
        var header = lines[0];
        var start = header.IndexOf("HEALTH", StringComparison.Ordinal);
        var end = header.IndexOf("REPORT ERROR", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, $"node ls has no HEALTH column:\n{table}");
        var row = lines.Single(l => NodeRow().IsMatch(l));
        return row.Length <= start ? "" : row[start..Math.Min(end, row.Length)].Trim();
    }

    [GeneratedRegex("^node-1 ")]
    private static partial Regex NodeRow();
}
