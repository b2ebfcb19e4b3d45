using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Agents;
using NodeAgent.Server.Metrics;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Store;
using NodeAgent.Testing;

namespace NodeAgent.Server.Tests;

/// <summary>GetPlan's long-poll, on a real store and a fake clock: a change answers at once, no change answers "unchanged" when the (capped) wait passes.</summary>
public sealed class PlanDeliveryTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private readonly FakeTimeProvider _time = new(T0);
    private readonly TempDir _dir = new("nodeagent-delivery-");
    private readonly SqlitePlanStore _store;
    private readonly PlanChangeNotifier _notifier;
    private readonly PlanDelivery _delivery;

    public PlanDeliveryTests()
    {
        var database = new SqliteDatabase(_dir.Combine("plan-server.db"), null);
        _store = new SqlitePlanStore(database);
        _notifier = new PlanChangeNotifier(_time);
        _delivery = new PlanDelivery(_store, new SqliteOperationStore(database), _notifier, new ServerMetrics(), _time);
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task GetPlan_ClusterChangesWhileWaiting_AnswersAtOnceWithTheNewPlan()
    {
        var cluster = await AddClusterAsync();
        var known = (await _delivery.CurrentPlanAsync("prod", "node-a", CancellationToken.None).DefaultTimeout()).Checksum;
        var waiting = _delivery.GetPlanAsync("prod", "node-a", known, TimeSpan.FromSeconds(60), CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        await _store.UpdateClusterAsync(cluster with { SnapshotSettings = new SnapshotSettings { Retention = 9 } }, CancellationToken.None).DefaultTimeout();
        _notifier.Changed("prod");

        // No time passes: the change alone answers the call.
        var reply = await waiting.DefaultTimeout();
        Assert.False(reply.Unchanged);
        Assert.NotEqual(known, reply.Plan.Checksum);
        Assert.Equal(9, reply.Plan.SteadyState.SnapshotSettings.Retention);
    }

    [Fact]
    public async Task GetPlan_NothingChanges_AnswersUnchangedWhenTheWaitPasses()
    {
        await AddClusterAsync();
        var known = (await _delivery.CurrentPlanAsync("prod", "node-a", CancellationToken.None).DefaultTimeout()).Checksum;
        var waiting = _delivery.GetPlanAsync("prod", "node-a", known, TimeSpan.FromSeconds(30), CancellationToken.None);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        var reply = await waiting.DefaultTimeout();
        Assert.True(reply.Unchanged);
        Assert.Null(reply.Plan);
    }

    [Fact]
    public async Task GetPlan_WaitAboveTheCap_AnswersUnchangedAfterTheCap()
    {
        await AddClusterAsync();
        var known = (await _delivery.CurrentPlanAsync("prod", "node-a", CancellationToken.None).DefaultTimeout()).Checksum;
        var waiting = _delivery.GetPlanAsync("prod", "node-a", known, TimeSpan.FromHours(1), CancellationToken.None);

        _time.Advance(PlanDelivery.MaxWait - TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        var reply = await waiting.DefaultTimeout();
        Assert.True(reply.Unchanged);
        Assert.Equal(TimeSpan.FromMinutes(5), PlanDelivery.MaxWait);
    }

    private async Task<ClusterRecord> AddClusterAsync()
    {
        var cluster = new ClusterRecord("prod", Runtime.K3S, "v1.30.4+k3s1", "", new SnapshotSettings { Retention = 5 }, "", "t", T0, T0);
        var added = await _store.TryAddClusterAsync(cluster, CancellationToken.None).DefaultTimeout();
        Assert.NotNull(added);
        await _store.UpsertNodeAsync(new NodeRecord("prod", "node-a", [NodeRole.Etcd], true, "h-a", T0, T0, "", "0.1.0"), CancellationToken.None).DefaultTimeout();
        return added;
    }
}
