using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Hosting;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>
/// plan-server stopped as systemd stops it (SIGTERM) while it holds calls: an agent's plan
/// long-poll and an operator's operation watch. It answers them, ends with exit 0 well inside its
/// unit's TimeoutStopSec, and a restart on the same data dir finds its state as it was.
/// </summary>
public sealed class PlanServerStopTests
{
    [Fact]
    public async Task PlanServer_SigtermDuringLongPollAndWatch_AnswersBothAndExitsZeroWithStateIntact()
    {
        using var dataDir = new TempDir("nodeagent-stop-");
        string operationId, credential, checksum;
        await using (var first = await PlanServerProcess.StartAsync(dataDir.Path).WithTimeout(TestTimeouts.Slow))
        {
            var created = await new ClusterService.ClusterServiceClient(first.CreateAdminChannel())
                .CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Contracts.V1.Runtime.K3S }).ResponseAsync.DefaultTimeout();
            var agent = await SimulatedAgent.RegisterAsync(first.Address, first.CaFile, "prod", "node-a", created.BootstrapToken);
            credential = agent.Credential;
            operationId = (await new SnapshotService.SnapshotServiceClient(first.CreateAdminChannel())
                .CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation.Id;
            checksum = (await agent.GetPlanAsync()).Checksum;

            using var agentChannel = first.CreateChannel(credential);
            using var poll = new AgentService.AgentServiceClient(agentChannel).GetPlanAsync(new GetPlanRequest
            {
                Cluster = "prod", Node = "node-a", KnownChecksum = checksum, Wait = Duration.FromTimeSpan(TimeSpan.FromMinutes(5)),
            });
            using var watchCancel = new CancellationTokenSource(TestTimeouts.Slow);
            using var watch = new OperationService.OperationServiceClient(first.CreateAdminChannel())
                .WatchOperation(new WatchOperationRequest { Id = operationId }, cancellationToken: watchCancel.Token);
            Assert.True(await watch.ResponseStream.MoveNext(watchCancel.Token));
            Assert.Equal(OperationPhase.Started, watch.ResponseStream.Current.Operation.Phase);
            using var http = new HttpClient();
            await OperationWaits.UntilAsync(async ct => (await http.GetStringAsync(new Uri(first.MetricsAddress, "/metrics"), ct))
                .Contains("nodeagent_agents_connected{cluster=\"prod\"} 1", StringComparison.Ordinal));

            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            first.Process.Signal("TERM");
            using (var exit = new CancellationTokenSource(TestTimeouts.Default))
            {
                await first.Process.WaitForExitAsync(exit.Token);
            }

            Assert.True(first.Process.ExitCode == 0, $"exit code {first.Process.ExitCode} after {stopwatch.Elapsed}:\n{first.Process.Output}");
            Assert.True((await poll.ResponseAsync.DefaultTimeout()).Unchanged);
            var ended = await Assert.ThrowsAsync<RpcException>(() => watch.ResponseStream.MoveNext(watchCancel.Token).DefaultTimeout());
            Assert.Equal(StatusCode.Unavailable, ended.StatusCode);
            Assert.Equal("the plan server is stopping", ended.Status.Detail);
        }

        await using var second = await PlanServerProcess.StartAsync(dataDir.Path).WithTimeout(TestTimeouts.Slow);
        var resumed = SimulatedAgent.Connect(second.Address, second.CaFile, "prod", "node-a", credential);
        var operations = new OperationService.OperationServiceClient(second.CreateAdminChannel());
        Assert.Equal(OperationPhase.Started, (await operations.GetOperationAsync(new GetOperationRequest { Id = operationId }).ResponseAsync.DefaultTimeout()).Operation.Phase);
        Assert.Equal(checksum, (await resumed.GetPlanAsync()).Checksum);
    }

    [Fact]
    public void StopBound_AgainstTheUnitAndTheDocs_FitsTheUnitsTimeoutStopSecAndIsTheOneDocumented()
    {
        var unit = File.ReadAllLines(Path.Combine(RepoPaths.Root, "systemd", "plan-server.service"));
        var timeoutStop = unit.Single(l => l.StartsWith("TimeoutStopSec=", StringComparison.Ordinal));
        var seconds = int.Parse(timeoutStop["TimeoutStopSec=".Length..].TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture);
        var bound = (int)PlanServerApp.StopBound.TotalSeconds;

        // The process ends itself 10 s after the bound (Program.cs); systemd must not SIGKILL it before.
        Assert.True(bound + 10 < seconds, $"stop bound {bound} s + 10 s does not fit {timeoutStop}");
        Assert.Contains($"finish first, for up to {bound} s (the unit's `{timeoutStop}` leaves {seconds - bound} s to exit)", OperatorDocs.Load().Text.ReplaceLineEndings(" "), StringComparison.Ordinal);
    }
}
