using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Ordering;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// An agent configured with two plan server addresses, real processes throughout: the first server,
/// and a standby made from its export (<c>plan-server export</c> → <c>import</c>) that starts only
/// once the first has stopped. The agent moves to the standby with the credential the first gave it.
/// </summary>
[ExpectedDuration(40)]
public sealed class StandbyFailoverEndToEndTests : IDisposable
{
    private readonly TempDir _root = new("nodeagent-standby-");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task AgentWithTwoServers_FirstStops_ItMovesToTheStandbyWithItsCredentialAndAppliesItsPlans()
    {
        await using var etcd = await ScriptedEtcdCluster.StartAsync(1);
        await using var first = await PlanServerProcess.StartAsync();
        var created = await new ClusterService.ClusterServiceClient(first.CreateAdminChannel()).CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod", Runtime = Runtime.Etcd, SnapshotSettings = new SnapshotSettings { RecurringEnabled = false },
        }).ResponseAsync.DefaultTimeout();
        using var agentDir = new TempDir("nodeagent-node-");
        var config = AgentConfigs.ScriptedEtcd(first, "prod", "node-1", etcd.Members[0], created.BootstrapToken, Path.Combine(agentDir.Path, "data"));
        // The standby's address is given out before it exists, as an operator would put it in the config.
        var standbyPort = FreePorts.Next();
        var standbyAddress = new Uri($"https://127.0.0.1:{standbyPort}");
        config["server"] = $"{first.Address},{standbyAddress}";
        config["poll-wait"] = "5s";
        await using var agent = AgentProcess.Start(config, agentDir);
        await new ClusterService.ClusterServiceClient(first.CreateAdminChannel()).UntilPlansAppliedAsync("prod", 1);

        var export = (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["export", "--data-dir", first.DataDir])).EnsureSuccess();
        await first.DisposeAsync();
        var standbyDir = _root.Combine("standby");
        (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["import", "--data-dir", standbyDir], standardInput: export.StandardOutput)).EnsureSuccess();
        await using var standby = await PlanServerProcess.StartAsync(standbyDir, port: standbyPort);
        var clusters = new ClusterService.ClusterServiceClient(standby.CreateAdminChannel());
        var before = Assert.Single((await clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes).DesiredChecksum;

        // A change made on the standby reaches the agent, and the agent reports it applied there.
        await clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest
        {
            Cluster = "prod", SnapshotSettings = new SnapshotSettings { RecurringEnabled = true, Cron = "0 */6 * * *", Retention = 5 },
        }).ResponseAsync.DefaultTimeout();
        await OperationWaits.UntilAsync(async ct =>
        {
            var node = (await clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }, cancellationToken: ct)).Nodes.Single();
            return node.DesiredChecksum != before && node.AppliedChecksum == node.DesiredChecksum;
        });

        Assert.Contains($"the next call goes to {standbyAddress}", agent.Process.Output, StringComparison.Ordinal);
        // The same node, not a new registration: the first server's credential worked on the standby.
        Assert.DoesNotContain("Registered", agent.Process.Output[agent.Process.Output.IndexOf("the next call goes to", StringComparison.Ordinal)..], StringComparison.Ordinal);
    }
}
