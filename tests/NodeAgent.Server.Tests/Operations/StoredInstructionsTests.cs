using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>
/// A node's instructions are computed once, when its part of a phase begins, and stored with the
/// operation: what changes afterwards (the cluster's S3 settings here) and a server restart do not
/// change what the node was told.
/// </summary>
public sealed class StoredInstructionsTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private TwoNodeCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TwoNodeCluster.StartAsync(_time);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task GetPlan_S3SettingsChangedMidPhaseThenServerRestarted_NodeGetsTheInstructionsStoredAtPhaseStart()
    {
        var op = (await _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var before = await _cluster.A.GetPlanAsync();
        Assert.False(before.Operation.Instructions.Single().SaveSnapshot.Upload);

        // Recomputed now, the save would upload: the cluster has an S3 target (nothing answers there; the listing's failure is only a warning).
        var clusters = new ClusterService.ClusterServiceClient(_cluster.Server.CreateAdminChannel());
        await clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest
        {
            Cluster = "prod",
            SnapshotSettings = new SnapshotSettings { S3 = new S3Settings { Endpoint = "127.0.0.1:9", Bucket = "backups" } },
        }).ResponseAsync.DefaultTimeout();
        await _cluster.Server.RestartAsync().WithTimeout(TestTimeouts.Slow);

        var after = await _cluster.A.GetPlanAsync();
        Assert.Equal("backups", after.SteadyState.SnapshotSettings.S3.Bucket);
        Assert.Equal(before.Operation, after.Operation);
        Assert.False(after.Operation.Instructions.Single().SaveSnapshot.Upload);

        await _cluster.A.ReportStepAsync(after, StepState.Succeeded);
        await _cluster.B.ReportStepAsync(await _cluster.B.GetPlanAsync(), StepState.Succeeded);
        var moved = (await _cluster.Operations.GetOperationAsync(new GetOperationRequest { Id = op.Id }).ResponseAsync.DefaultTimeout()).Operation;
        Assert.Equal(OperationPhase.RestartCluster, moved.Phase);
    }

    [Fact]
    public async Task Restart_OperationStoredByAVersionWithoutInstructionLists_NodesGetTheirPhaseInstructionsAndItFinishes()
    {
        var op = (await _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var before = await _cluster.A.GetPlanAsync();
        // What the previous version left: the operation without the instructions column (the server adds it at start, empty).
        await using (var db = new SqliteConnection($"Data Source={Path.Combine(_cluster.Server.DataDir, "plan-server.db")};Pooling=False"))
        {
            await db.OpenAsync().DefaultTimeout();
            await using var drop = db.CreateCommand();
            drop.CommandText = "ALTER TABLE operations DROP COLUMN instructions";
            await drop.ExecuteNonQueryAsync().DefaultTimeout();
        }
        await _cluster.Server.RestartAsync().WithTimeout(TestTimeouts.Slow);

        // The lists are computed once, at the first check after start, and stored.
        await OperationWaits.UntilAsync(async _ => (await _cluster.A.GetPlanAsync()).Operation is not null);
        var planA = await _cluster.A.GetPlanAsync();
        var planB = await _cluster.B.GetPlanAsync();
        Assert.Equal(before.Operation, planA.Operation);
        await _cluster.A.ReportStepAsync(planA, StepState.Succeeded);
        await _cluster.B.ReportStepAsync(planB, StepState.Succeeded);
        await _cluster.A.ReportAppliedAsync(await _cluster.A.GetPlanAsync(planA.Checksum));
        await _cluster.B.ReportAppliedAsync(await _cluster.B.GetPlanAsync(planB.Checksum));
        var finished = (await _cluster.Operations.GetOperationAsync(new GetOperationRequest { Id = op.Id }).ResponseAsync.DefaultTimeout()).Operation;
        Assert.Equal(OperationPhase.Finished, finished.Phase);
    }
}
