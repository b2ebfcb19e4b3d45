using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Server.Tests;

public sealed class PlanServerRestartTests
{
    [Fact]
    public async Task PlanServer_Restarted_KeepsClustersNodesAndCredentials()
    {
        using var dataDir = new TempDir("nodeagent-restart-");
        string adminToken, credential, checksum;
        await using (var first = await PlanServerProcess.StartAsync(dataDir.Path).WithTimeout(TestTimeouts.Slow))
        {
            adminToken = first.AdminToken;
            var clusters = new ClusterService.ClusterServiceClient(first.CreateAdminChannel());
            var created = await clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Runtime.Etcd }).ResponseAsync.DefaultTimeout();
            var registered = await new AgentService.AgentServiceClient(first.CreateChannel()).RegisterAsync(new RegisterRequest
            {
                Cluster = "prod", Node = "node-1", BootstrapToken = created.BootstrapToken,
            }).ResponseAsync.DefaultTimeout();
            credential = registered.NodeCredential;
            checksum = registered.Node.DesiredChecksum;
        }

        await using var second = await PlanServerProcess.StartAsync(dataDir.Path).WithTimeout(TestTimeouts.Slow);
        var plan = await new AgentService.AgentServiceClient(second.CreateChannel(credential))
            .GetPlanAsync(new GetPlanRequest { Cluster = "prod", Node = "node-1" }).ResponseAsync.DefaultTimeout();

        Assert.Equal(adminToken, second.AdminToken);
        Assert.Equal(checksum, plan.Plan.Checksum);
    }

    [Fact]
    public async Task PlanServer_KilledMidOperation_ResumesAndFinishesAfterRestart()
    {
        using var dataDir = new TempDir("nodeagent-resume-");
        string operationId, credential;
        Plan plan;
        await using (var first = await PlanServerProcess.StartAsync(dataDir.Path).WithTimeout(TestTimeouts.Slow))
        {
            var created = await new ClusterService.ClusterServiceClient(first.CreateAdminChannel())
                .CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Runtime.K3S }).ResponseAsync.DefaultTimeout();
            var agent = await SimulatedAgent.RegisterAsync(first.Address, first.CaFile, "prod", "node-a", created.BootstrapToken);
            credential = agent.Credential;
            operationId = (await new SnapshotService.SnapshotServiceClient(first.CreateAdminChannel())
                .CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation.Id;
            plan = await agent.GetPlanAsync();
            first.Process.Kill();
        }

        await using var second = await PlanServerProcess.StartAsync(dataDir.Path).WithTimeout(TestTimeouts.Slow);
        var resumed = SimulatedAgent.Connect(second.Address, second.CaFile, "prod", "node-a", credential);
        var operations = new OperationService.OperationServiceClient(second.CreateAdminChannel());
        Assert.Equal(OperationPhase.Started, (await operations.GetOperationAsync(new GetOperationRequest { Id = operationId }).ResponseAsync.DefaultTimeout()).Operation.Phase);
        Assert.Equal(plan.Checksum, (await resumed.GetPlanAsync()).Checksum);

        await resumed.ReportStepAsync(plan, StepState.Succeeded);
        await resumed.ReportAppliedAsync(await resumed.GetPlanAsync(plan.Checksum));

        Assert.Equal(OperationPhase.Finished, (await operations.GetOperationAsync(new GetOperationRequest { Id = operationId }).ResponseAsync.DefaultTimeout()).Operation.Phase);
    }

    [Fact]
    public async Task BufCurl_AdminToken_ListsClustersByReflection()
    {
        await using var server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        var clusters = new ClusterService.ClusterServiceClient(server.CreateAdminChannel());
        await clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Runtime.Rke2 }).ResponseAsync.DefaultTimeout();

        using var headers = new TempDir("nodeagent-buf-");
        var listed = (await Buf.CurlAsync($"{server.Address}nodeagent.v1.ClusterService/ListClusters", "{}",
            [.. Buf.WriteBearerHeaderFile(headers.Combine("admin-header"), server.AdminToken), .. server.BufTlsArgs]).WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
        var refused = await Buf.CurlAsync($"{server.Address}nodeagent.v1.ClusterService/ListClusters", "{}", server.BufTlsArgs).WithTimeout(TestTimeouts.Slow);
        var untrusted = await Buf.CurlAsync($"{server.Address}nodeagent.v1.ClusterService/ListClusters", "{}").WithTimeout(TestTimeouts.Slow);

        Assert.Contains("\"name\": \"prod\"", listed.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("RUNTIME_RKE2", listed.StandardOutput, StringComparison.Ordinal);
        Assert.False(refused.Succeeded);
        Assert.Contains("unauthenticated", refused.StandardError, StringComparison.OrdinalIgnoreCase);
        // Without the CA the TLS handshake fails; buf then reports that reflection found nothing.
        Assert.False(untrusted.Succeeded);
        Assert.DoesNotContain("prod", untrusted.StandardOutput, StringComparison.Ordinal);
    }
}
