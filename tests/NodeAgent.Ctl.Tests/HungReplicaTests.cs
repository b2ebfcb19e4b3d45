using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Ctl.Tests;

/// <summary>
/// The real nodeagentctl whose first plan server is hung: a plan-server process stopped with
/// SIGSTOP, whose socket still accepts connections but never answers. A read passes over it once
/// the call's 30 s are up; a change is not sent on, since the hung server may have carried it out.
/// </summary>
public sealed class HungReplicaTests : IAsyncLifetime
{
    private PlanServerProcess _live = null!;
    private PlanServerProcess _hung = null!;

    public async Task InitializeAsync()
    {
        _live = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        _hung = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        _hung.Process.Signal("STOP");
    }

    public async Task DisposeAsync()
    {
        _hung.Process.Signal("CONT");
        await _hung.DisposeAsync();
        await _live.DisposeAsync();
    }

    [Fact]
    public async Task ClusterLs_FirstServerHung_PassesOverItAndSaysSo()
    {
        var (hung, live) = (ReplicaCtl.Url(_hung), ReplicaCtl.Url(_live));
        (await ReplicaCtl.RunAsync(_live, live, "cluster", "create", "prod", "--runtime", "k3s")).EnsureSuccess();

        var listed = (await ReplicaCtl.RunAsync(_live, $"{hung},{live}", "cluster", "ls")).EnsureSuccess();

        Assert.Equal($"nodeagentctl: plan server {hung} did not answer (DeadlineExceeded); trying {live}\n", listed.StandardError);
        Assert.Matches(@"^prod\s+k3s\s", listed.StandardOutput.Split('\n')[1]);
    }

    [Fact]
    public async Task ClusterCreate_FirstServerHung_IsNotSentToTheSecond_AndSaysWhy()
    {
        var (hung, live) = (ReplicaCtl.Url(_hung), ReplicaCtl.Url(_live));

        var result = await ReplicaCtl.RunAsync(_live, $"{hung},{live}", "cluster", "create", "prod", "--runtime", "k3s");
        var got = await ReplicaCtl.RunAsync(_live, live, "cluster", "get", "prod");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"nodeagentctl: the plan server did not answer within 30s; {hung} may have carried out CreateCluster, so it was not sent to {live}: "
            + "check before running the command again\n", result.StandardError);
        Assert.Equal(1, got.ExitCode);
        Assert.Contains("NotFound: cluster 'prod' does not exist", got.StandardError, StringComparison.Ordinal);
    }
}
