using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Schedule;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Tests.Schedule;

/// <summary>The schedule on fake time: every instant is exact, nothing sleeps.</summary>
public sealed class RecurringSnapshotsTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 2, 0, TimeSpan.Zero);

    [Fact]
    public async Task Fires_AtEachCronTick_InTheScheduleTimeZone()
    {
        var time = new FakeTimeProvider(Start);
        var job = new RecordingJob(time);
        await using var schedule = new RecurringSnapshots(job, time, NullLogger<RecurringSnapshots>.Instance);
        var scheduled = Observe(schedule);

        schedule.Apply(ScheduleSettings.Create("0 2 * * *", "America/New_York", maxJitter: TimeSpan.Zero));

        // 02:00 in New York is 07:00 UTC in November (EST).
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 7, 0, 0, TimeSpan.Zero), await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout());
        time.Advance(TimeSpan.FromHours(20) + TimeSpan.FromMinutes(58));
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 7, 0, 0, TimeSpan.Zero), await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout());
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 7, 0, 0, TimeSpan.Zero), await job.Started.Reader.ReadAsync().AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task Default_IsRancherEveryFiveHours()
    {
        var time = new FakeTimeProvider(Start);
        var job = new RecordingJob(time) { Block = false };
        await using var schedule = new RecurringSnapshots(job, time, NullLogger<RecurringSnapshots>.Instance);
        var scheduled = Observe(schedule);

        schedule.Apply(ScheduleSettings.Create(timeZone: "UTC", maxJitter: TimeSpan.Zero));

        var fired = new List<DateTimeOffset>();
        for (var i = 0; i < 4; i++)
        {
            var at = await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout();
            fired.Add(at);
            time.Advance(at - time.GetUtcNow());
            await job.Started.Reader.ReadAsync().AsTask().DefaultTimeout();
        }
        Assert.Equal([15, 20, 0, 5], fired.Select(f => f.Hour));
        Assert.Equal(5, schedule.Settings!.Retention);
    }

    [Fact]
    public async Task Jitter_DelaysEachRunByAtMostTheMaximum()
    {
        var time = new FakeTimeProvider(Start);
        await using var schedule = new RecurringSnapshots(new RecordingJob(time), time, NullLogger<RecurringSnapshots>.Instance);
        var scheduled = Observe(schedule);

        schedule.Apply(ScheduleSettings.Create("*/10 * * * *", "UTC", maxJitter: TimeSpan.FromSeconds(30)));

        var at = await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout();
        Assert.InRange(at, new DateTimeOffset(2026, 11, 25, 10, 10, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 25, 10, 10, 30, TimeSpan.Zero));
    }

    [Fact]
    public async Task Tick_WhileTheLastRunStillGoes_IsSkippedNotQueued()
    {
        var time = new FakeTimeProvider(Start);
        var job = new RecordingJob(time);
        await using var schedule = new RecurringSnapshots(job, time, NullLogger<RecurringSnapshots>.Instance);
        var scheduled = Observe(schedule);
        schedule.Apply(ScheduleSettings.Create("*/10 * * * *", "UTC", maxJitter: TimeSpan.Zero));

        await AdvanceToNextAsync(time, scheduled);                 // 10:10 starts a run that does not end
        await job.Started.Reader.ReadAsync().AsTask().DefaultTimeout();
        var next = await AdvanceToNextAsync(time, scheduled);      // 10:20 comes while it runs

        Assert.Equal(new DateTimeOffset(2026, 11, 25, 10, 30, 0, TimeSpan.Zero), next);
        Assert.Equal(1, schedule.Skipped);
        Assert.False(job.Started.Reader.TryRead(out _));

        job.Release();
        await job.Finished.Reader.ReadAsync().AsTask().DefaultTimeout();
        time.Advance(next - time.GetUtcNow());                    // 10:30 runs again
        Assert.Equal(next, await job.Started.Reader.ReadAsync().AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task FailingRun_IsReported_AndTheScheduleGoesOn()
    {
        var time = new FakeTimeProvider(Start);
        var job = new RecordingJob(time) { Block = false, Fail = true };
        await using var schedule = new RecurringSnapshots(job, time, NullLogger<RecurringSnapshots>.Instance);
        var scheduled = Observe(schedule);
        var finished = Channel.CreateUnbounded<Exception?>();
        schedule.RunFinished += e => finished.Writer.TryWrite(e);
        schedule.Apply(ScheduleSettings.Create("*/10 * * * *", "UTC", maxJitter: TimeSpan.Zero));

        await AdvanceToNextAsync(time, scheduled);
        Assert.IsType<IOException>(await finished.Reader.ReadAsync().AsTask().DefaultTimeout());
        await AdvanceToNextAsync(time, scheduled);
        Assert.IsType<IOException>(await finished.Reader.ReadAsync().AsTask().DefaultTimeout());
    }

    [Fact]
    public async Task ApplyNull_Stops_AndANewScheduleReplacesTheOld()
    {
        var time = new FakeTimeProvider(Start);
        var job = new RecordingJob(time) { Block = false };
        await using var schedule = new RecurringSnapshots(job, time, NullLogger<RecurringSnapshots>.Instance);
        var scheduled = Observe(schedule);
        schedule.Apply(ScheduleSettings.Create("*/10 * * * *", "UTC", maxJitter: TimeSpan.Zero));
        await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout();

        schedule.Apply(null);
        time.Advance(TimeSpan.FromHours(1));
        Assert.Null(schedule.NextRunAt);
        Assert.False(job.Started.Reader.TryRead(out _));

        schedule.Apply(ScheduleSettings.Create("0 12 * * *", "UTC", maxJitter: TimeSpan.Zero));
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero), await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout());
    }

    [Theory]
    [InlineData("0 */5 * *", null, "is not a 5-field cron expression")]
    [InlineData("61 * * * *", null, "is not a 5-field cron expression")]
    [InlineData("every day", null, "is not a 5-field cron expression")]
    [InlineData("0 * * * *", "Mars/Olympus", "time zone \"Mars/Olympus\" is unknown")]
    public void Create_BadCronOrZone_SaysWhatIsWrong(string cron, string? zone, string expected)
        => Assert.Contains(expected, Assert.Throws<SnapshotRequestException>(() => ScheduleSettings.Create(cron, zone)).Message, StringComparison.Ordinal);

    [Fact]
    public async Task ScheduledJob_SavesFromRealEtcd_AndPrunesItsPrefixAfterEachSave()
    {
        await using var etcd = await EtcdServer.StartAsync();
        using var root = new TempDir();
        var dir = root.Combine("snapshots");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "on-demand-n1-1600000000"), "not ours to prune");
        var time = new FakeTimeProvider(Start);
        var options = new AgentOptions
        {
            // The plan server is never called here: the inventory reporter is not started.
            Servers = [new Uri("https://127.0.0.1:9")],
            Cluster = "c1",
            NodeName = "n1",
            Runtime = Contracts.V1.Runtime.Etcd,
            DataDir = root.Path,
            EtcdEndpoints = [etcd.ClientUrl],
        };
        var identity = new AgentIdentity("c1", "n1", "test");
        var saver = new SnapshotSaver(() => new GrpcEtcdMaintenance(options.EtcdConnection()), time, NullLogger<SnapshotSaver>.Instance);
        var targets = new SnapshotTargets(options, identity, time, NullLoggerFactory.Instance);
        await targets.ApplyAsync(new SteadyStatePlan { Runtime = Contracts.V1.Runtime.Etcd, SnapshotSettings = new SnapshotSettings { Dir = dir, Retention = 2 } }, CancellationToken.None);
        using var client = new GrpcPlanServerClient(options, time, Microsoft.Extensions.Logging.Abstractions.NullLogger<GrpcPlanServerClient>.Instance);
        var inventory = new InventoryReporter(targets, new StatusReporter(client, identity, NullLogger<StatusReporter>.Instance), identity, time, NullLogger<InventoryReporter>.Instance);
        var job = new ScheduledSnapshotJob(new NodeSnapshotService(targets, new SnapshotManager(saver, time), inventory, identity, options, new NodeAgent.Agent.Metrics.AgentMetrics(), new NodeAgent.Agent.Runtime.ProcessRunner(time, NullLogger<NodeAgent.Agent.Runtime.ProcessRunner>.Instance), time, NullLogger<NodeSnapshotService>.Instance), targets);
        await using var schedule = new RecurringSnapshots(job, time, NullLogger<RecurringSnapshots>.Instance);
        var scheduled = Observe(schedule);
        var finished = Channel.CreateUnbounded<Exception?>();
        schedule.RunFinished += e => finished.Writer.TryWrite(e);
        schedule.Apply(ScheduleSettings.Create("0 * * * *", "UTC", retention: 2, maxJitter: TimeSpan.Zero));

        for (var i = 0; i < 3; i++)
        {
            await AdvanceToNextAsync(time, scheduled);
            Assert.Null(await finished.Reader.ReadAsync().AsTask().WithTimeout(TestTimeouts.Slow));
        }

        Assert.Equal(
            ["etcd-snapshot-n1-" + new DateTimeOffset(2026, 11, 25, 13, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(),
             "etcd-snapshot-n1-" + new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds(),
             "on-demand-n1-1600000000"],
            new LocalSnapshotStore(dir).List().Select(s => s.Name));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(root.Path, ".metadata")).Length);
    }

    /// <summary>The daemon's path: a steady state from the plan server changes the cron, the schedule follows and fires; turned off, it stops.</summary>
    [Fact]
    public async Task SteadyStatePlan_ChangedCron_IsFollowedAndFires_DisabledStops()
    {
        var time = new FakeTimeProvider(Start);
        using var job = new RecordingJob(time) { Block = false };
        await using var schedule = new RecurringSnapshots(job, time, NullLogger<RecurringSnapshots>.Instance);
        var scheduled = Observe(schedule);
        var options = new AgentOptions { Cluster = "c1", NodeName = "n1", Runtime = Contracts.V1.Runtime.Etcd, DataDir = "/var/lib/test-node" };
        var targets = new SnapshotTargets(options, new AgentIdentity("c1", "n1", "test"), time, NullLoggerFactory.Instance);
        ISteadyStateHandler[] handlers = [targets, new SteadyStateSchedule(targets, schedule)];
        async Task ApplyAsync(SnapshotSettings settings)
        {
            foreach (var handler in handlers)
            {
                await handler.ApplyAsync(new SteadyStatePlan { Runtime = Contracts.V1.Runtime.Etcd, SnapshotSettings = settings }, CancellationToken.None);
            }
        }

        await ApplyAsync(new SnapshotSettings { TimeZone = "UTC" });
        var first = await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout();
        await ApplyAsync(new SnapshotSettings { Cron = "*/10 * * * *", TimeZone = "UTC", Retention = 3 });
        var next = await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout();
        time.Advance(next - time.GetUtcNow());
        var ran = await job.Started.Reader.ReadAsync().AsTask().DefaultTimeout();
        var retention = targets.Target!.Schedule!.Retention;
        await ApplyAsync(new SnapshotSettings { RecurringEnabled = false });

        // The default cron (every 5 hours on the hour) with up to 30 s of jitter, then every 10 minutes.
        Assert.InRange(first, new DateTimeOffset(2026, 11, 25, 15, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 25, 15, 0, 30, TimeSpan.Zero));
        Assert.InRange(next, new DateTimeOffset(2026, 11, 25, 10, 10, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 25, 10, 10, 30, TimeSpan.Zero));
        Assert.Equal(next, ran);
        Assert.Equal(3, retention);
        Assert.Null(schedule.Settings);
        Assert.Equal("/var/lib/test-node/server/db/snapshots", targets.Target!.Directory);
    }

    private static Channel<DateTimeOffset> Observe(RecurringSnapshots schedule)
    {
        var channel = Channel.CreateUnbounded<DateTimeOffset>();
        schedule.Scheduled += at => channel.Writer.TryWrite(at);
        return channel;
    }

    /// <summary>Advances fake time to the scheduled instant and returns the one scheduled after it.</summary>
    private static async Task<DateTimeOffset> AdvanceToNextAsync(FakeTimeProvider time, Channel<DateTimeOffset> scheduled)
    {
        var at = await scheduled.Reader.ReadAsync().AsTask().DefaultTimeout();
        time.Advance(at - time.GetUtcNow());
        await scheduled.Reader.WaitToReadAsync().AsTask().DefaultTimeout();
        Assert.True(scheduled.Reader.TryPeek(out var next));
        return next;
    }

    private sealed class RecordingJob(TimeProvider time) : IScheduledSnapshotJob, IDisposable
    {
        private readonly SemaphoreSlim _release = new(0);

        public bool Block { get; init; } = true;

        public bool Fail { get; init; }

        public Channel<DateTimeOffset> Started { get; } = Channel.CreateUnbounded<DateTimeOffset>();

        public Channel<DateTimeOffset> Finished { get; } = Channel.CreateUnbounded<DateTimeOffset>();

        public void Release() => _release.Release();

        public void Dispose() => _release.Dispose();

        public async Task RunAsync(ScheduleSettings settings, CancellationToken cancellationToken)
        {
            Started.Writer.TryWrite(time.GetUtcNow());
            if (Block)
            {
                await _release.WaitAsync(cancellationToken);
            }
            Finished.Writer.TryWrite(time.GetUtcNow());
            if (Fail)
            {
                throw new IOException("disk full");
            }
        }
    }
}
