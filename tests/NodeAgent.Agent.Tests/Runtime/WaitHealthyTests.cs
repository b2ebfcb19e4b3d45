using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>WaitHealthy and StartRuntime's wait: polled on the injected clock, ended by the step's deadline with the endpoint and the last error.</summary>
public sealed class WaitHealthyTests : IDisposable
{
    private readonly TempDir _root = new();
    private readonly List<StepResult> _reports = [];

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task WaitHealthy_Voter_SucceedsAtOnce()
    {
        await using var etcd = await EtcdServer.StartAsync();
        await using var rig = await RuntimeRig.CreateAsync(Options(etcd.ClientUrl), _root.Combine("snapshots"));

        var outcome = await rig.RunAsync(RuntimeRig.WaitHealthy());

        AssertStep.Succeeded(outcome);
        Assert.Contains($"at {etcd.ClientUrl} answers", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WaitHealthy_Learner_IsNotHealthyUntilTheDeadline()
    {
        await using var leader = await EtcdServer.StartAsync();
        await using var learner = await EtcdServer.StartLearnerAsync(leader);
        await using var rig = await RuntimeRig.CreateAsync(Options(learner.ClientUrl), _root.Combine("snapshots"));

        var ex = await Assert.ThrowsAsync<StepCancelledException>(() => rig.RunAsync(RuntimeRig.WaitHealthy(), deadline: TimeSpan.FromSeconds(2)));

        Assert.Contains("is still a learner", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Through the step runner on fake time: every backoff is a timer on the fake clock, advanced as soon as it exists.</summary>
    [Fact]
    public async Task WaitHealthy_NobodyAnswers_TimesOutNamingTheEndpointAndTheLastError()
    {
        var endpoint = $"http://127.0.0.1:{FreePorts.Next()}";
        var fake = new FakeTimeProvider(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
        var time = new DelayWatchingTime(fake);
        await using var rig = await RuntimeRig.CreateAsync(Options(endpoint), _root.Combine("snapshots"), time);
        var runner = new StepRunner([rig.Executor(Instruction.KindOneofCase.WaitHealthy)], new StepMarkers(_root.Combine("markers")),
            new StepRetrySettings(TimeSpan.Zero), new NodeAgent.Agent.Metrics.AgentMetrics(), time, NullLogger<StepRunner>.Instance);
        var plan = new Plan
        {
            Operation = new OperationPlan
            {
                OperationId = "op-1",
                Instructions = { new Instruction { Id = "wait", Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)), MaxAttempts = 1, WaitHealthy = new WaitHealthyInstruction() } },
            },
        };

        var run = runner.RunAsync(plan, (r, _) => { _reports.Add(r); return Task.CompletedTask; }, CancellationToken.None);
        var delays = 0;
        while (!run.IsCompleted)
        {
            var next = time.Delays.Reader.ReadAsync().AsTask();
            if (await Task.WhenAny(next, run).WithTimeout(TestTimeouts.Slow) == next)
            {
                fake.Advance(await next);
                delays++;
            }
        }

        Assert.False(await run);
        var result = _reports[^1];
        Assert.Equal(StepState.Failed, result.State);
        Assert.True(result.Retryable);
        Assert.StartsWith($"timed out after 00:00:10: etcd at {endpoint} did not become healthy", result.Message, StringComparison.Ordinal);
        Assert.Contains($"last error: etcd is not reachable ({endpoint}", result.Message, StringComparison.Ordinal);
        Assert.InRange(delays, 11, 13);
    }

    private AgentOptions Options(string endpoint) => RuntimeRig.Options("etcd", _root.Path, _root.Combine("state"), endpoint);

    /// <summary>A fake clock that tells when a one-shot delay of at most 5 s (a poll's backoff) was set.</summary>
    private sealed class DelayWatchingTime(FakeTimeProvider fake) : TimeProvider
    {
        public Channel<TimeSpan> Delays { get; } = Channel.CreateUnbounded<TimeSpan>();

        public override DateTimeOffset GetUtcNow() => fake.GetUtcNow();

        public override long GetTimestamp() => fake.GetTimestamp();

        public override long TimestampFrequency => fake.TimestampFrequency;

        public override TimeZoneInfo LocalTimeZone => fake.LocalTimeZone;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = fake.CreateTimer(callback, state, dueTime, period);
            if (period == Timeout.InfiniteTimeSpan && dueTime > TimeSpan.Zero && dueTime <= TimeSpan.FromSeconds(5))
            {
                Delays.Writer.TryWrite(dueTime);
            }
            return timer;
        }
    }
}
