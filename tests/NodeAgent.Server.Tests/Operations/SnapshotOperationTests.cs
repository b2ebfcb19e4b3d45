using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

public sealed class SnapshotOperationTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private TwoNodeCluster _cluster = null!;

    public async Task InitializeAsync() => _cluster = await TwoNodeCluster.StartAsync(_time);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task CreateSnapshot_AllNodesSave_GoesThroughPhasesToFinishedAndFillsCatalog()
    {
        var op = (await _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        using var watch = _cluster.Operations.WatchOperation(new WatchOperationRequest { Id = op.Id });
        var phases = CollectPhasesAsync(watch.ResponseStream);

        var planA = await _cluster.A.GetPlanAsync();
        var planB = await _cluster.B.GetPlanAsync();
        Assert.Equal(op.Id, planA.Operation.OperationId);
        Assert.Equal("on-demand", planA.Operation.Instructions.Single().SaveSnapshot.Name);
        await _cluster.A.ReportStepAsync(planA, StepState.Succeeded, inventory: Inventory("node-a"));
        await _cluster.B.ReportStepAsync(planB, StepState.Succeeded, inventory: Inventory("node-b"));

        var steadyA = await _cluster.A.GetPlanAsync(planA.Checksum);
        var steadyB = await _cluster.B.GetPlanAsync(planB.Checksum);
        Assert.Null(steadyA.Operation);
        Assert.Equal(OperationPhase.RestartCluster, (await GetAsync(op.Id)).Phase);
        await _cluster.A.ReportAppliedAsync(steadyA);
        await _cluster.B.ReportAppliedAsync(steadyB);

        var finished = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Finished, finished.Phase);
        Assert.Equal([OperationPhase.Started, OperationPhase.RestartCluster, OperationPhase.Finished], await phases.DefaultTimeout());
        var catalog = await _cluster.Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout();
        Assert.Equal(["node-a", "node-b"], catalog.Snapshots.Select(s => s.Node).Order());
        Assert.All(catalog.Snapshots, s => Assert.Equal("prod", s.Cluster));
    }

    [Fact]
    public async Task CreateSnapshot_WhileOneRuns_FailedPreconditionNamesIt()
    {
        var first = (await _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;

        var ex = await Assert.ThrowsAsync<RpcException>(() => _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains(first.Id, ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateSnapshot_NodeReportsFailure_FailedWithNodeAndMessageAndPlansBackToSteady()
    {
        var op = (await _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var planB = await _cluster.B.GetPlanAsync();

        await _cluster.B.ReportStepAsync(planB, StepState.Failed, "etcd at https://127.0.0.1:2379 is unreachable");

        var failed = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Failed, failed.Phase);
        Assert.Equal("node-b", failed.Failure.Node);
        Assert.Equal("started/save-snapshot", failed.Failure.InstructionId);
        Assert.Contains("unreachable", failed.Failure.Message, StringComparison.Ordinal);
        Assert.Null((await _cluster.A.GetPlanAsync()).Operation);
    }

    [Fact]
    public async Task CreateSnapshot_NodeNeverAnswers_FailsAtPhaseDeadline()
    {
        var op = (await _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        var planA = await _cluster.A.GetPlanAsync();
        await _cluster.A.ReportStepAsync(planA, StepState.Succeeded);
        using var watch = _cluster.Operations.WatchOperation(new WatchOperationRequest { Id = op.Id });
        var phases = CollectPhasesAsync(watch.ResponseStream);

        _time.Advance(TimeSpan.FromMinutes(31));

        Assert.Equal(OperationPhase.Failed, (await phases.DefaultTimeout()).Last());
        var failed = await GetAsync(op.Id);
        Assert.Equal("node-b", failed.Failure.Node);
        Assert.Contains("did not finish", failed.Failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelOperation_Running_CancelledAndSecondCancelRefused()
    {
        var op = (await _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;

        var cancelled = (await _cluster.Operations.CancelOperationAsync(new CancelOperationRequest { Id = op.Id }).ResponseAsync.DefaultTimeout()).Operation;
        var again = await Assert.ThrowsAsync<RpcException>(() => _cluster.Operations.CancelOperationAsync(new CancelOperationRequest { Id = op.Id }).ResponseAsync).DefaultTimeout();

        Assert.Equal(OperationPhase.Cancelled, cancelled.Phase);
        Assert.Equal(StatusCode.FailedPrecondition, again.StatusCode);
        Assert.Null((await _cluster.A.GetPlanAsync()).Operation);
    }

    [Theory]
    [InlineData("nope", "on-demand", StatusCode.NotFound)]
    [InlineData("prod", "../../etc/passwd", StatusCode.InvalidArgument)]
    public async Task CreateSnapshot_BadRequest_ClearStatus(string cluster, string name, StatusCode expected)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _cluster.Snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = cluster, Name = name }).ResponseAsync).DefaultTimeout();

        Assert.Equal(expected, ex.StatusCode);
    }

    [Fact]
    public async Task ReportStatus_InventoryNameWithPath_InvalidArgument()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _cluster.A.ReportAsync(new ReportStatusRequest
        {
            Inventory = new SnapshotInventory { Snapshots = { new Snapshot { Name = "../x", Storage = StorageKind.Local, Location = "file:///x" } } },
        })).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
    }

    private async Task<Operation> GetAsync(string id)
        => (await _cluster.Operations.GetOperationAsync(new GetOperationRequest { Id = id }).ResponseAsync.DefaultTimeout()).Operation;

    private static async Task<List<OperationPhase>> CollectPhasesAsync(IAsyncStreamReader<WatchOperationResponse> stream)
    {
        var phases = new List<OperationPhase>();
        while (await stream.MoveNext(CancellationToken.None))
        {
            if (phases.Count == 0 || phases[^1] != stream.Current.Operation.Phase)
            {
                phases.Add(stream.Current.Operation.Phase);
            }
        }
        return phases;
    }

    private static SnapshotInventory Inventory(string node) => new()
    {
        Snapshots =
        {
            new Snapshot
            {
                Name = $"on-demand-{node}-1700000000",
                Storage = StorageKind.Local,
                Location = $"file:///var/lib/rancher/k3s/server/db/snapshots/on-demand-{node}-1700000000",
                Size = 4096,
                Status = SnapshotStatus.Successful,
                CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)),
            },
        },
    };
}
