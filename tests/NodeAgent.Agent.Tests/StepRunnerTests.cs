using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Metrics;

namespace NodeAgent.Agent.Tests;

public sealed class StepRunnerTests : IDisposable
{
    private readonly TempDir _state = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private readonly List<StepResult> _reports = [];
    private readonly AgentMetrics _metrics = new();

    public void Dispose() => _state.Dispose();

    [Fact]
    public async Task RunAsync_AllSucceed_ReportsRunningThenSucceededForEach()
    {
        var save = new ScriptedExecutor(Instruction.KindOneofCase.SaveSnapshot, safe: true, StepOutcome.Success("saved"));
        var delete = new ScriptedExecutor(Instruction.KindOneofCase.DeleteSnapshot, safe: true, StepOutcome.Success("deleted"));

        var ok = await Runner(save, delete).RunAsync(Plan(Save("s1"), Delete("s2")), Report, CancellationToken.None).DefaultTimeout();

        Assert.True(ok);
        Assert.Equal([("s1", StepState.Running), ("s1", StepState.Succeeded), ("s2", StepState.Running), ("s2", StepState.Succeeded)],
            _reports.Select(r => (r.InstructionId, r.State)));
        Assert.Equal("deleted", _reports[^1].Message);
    }

    [Fact]
    public async Task RunAsync_FirstFails_StopsAndDoesNotRunTheRest()
    {
        var save = new ScriptedExecutor(Instruction.KindOneofCase.SaveSnapshot, safe: true, StepOutcome.Failure("disk full", retryable: false));
        var delete = new ScriptedExecutor(Instruction.KindOneofCase.DeleteSnapshot, safe: true, StepOutcome.Success());

        var ok = await Runner(save, delete).RunAsync(Plan(Save("s1", attempts: 3), Delete("s2")), Report, CancellationToken.None).DefaultTimeout();

        Assert.False(ok);
        Assert.Equal(1, save.Calls);
        Assert.Equal(0, delete.Calls);
        Assert.Equal(StepState.Failed, _reports[^1].State);
        Assert.Equal("disk full", _reports[^1].Message);
    }

    [Fact]
    public async Task RunAsync_RetryableFailure_RetriesUpToTheBound()
    {
        var save = new ScriptedExecutor(Instruction.KindOneofCase.SaveSnapshot, safe: true,
            StepOutcome.Failure("etcd busy", retryable: true), StepOutcome.Failure("etcd busy", retryable: true), StepOutcome.Success());

        var ok = await Runner(save).RunAsync(Plan(Save("s1", attempts: 2)), Report, CancellationToken.None).DefaultTimeout();

        Assert.False(ok);
        Assert.Equal(2, save.Calls);
        Assert.Equal(2, _reports[^1].Attempt);
    }

    [Fact]
    public async Task RunAsync_AttemptOutlivesItsTimeout_FailsAsTimedOut()
    {
        var hang = new HangingExecutor();
        var run = Runner(hang).RunAsync(Plan(Save("s1", attempts: 1, timeout: TimeSpan.FromMinutes(2))), Report, CancellationToken.None);
        await hang.Started.Task.DefaultTimeout();

        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.False(await run.DefaultTimeout());
        Assert.Contains("timed out after 00:02:00", _reports[^1].Message, StringComparison.Ordinal);
        using var scrape = new MemoryStream();
        await _metrics.Registry.CollectAndExportAsTextAsync(scrape).DefaultTimeout();
        var samples = PrometheusText.Parse(System.Text.Encoding.UTF8.GetString(scrape.ToArray()));
        Assert.Equal(1, samples.One("nodeagent_agent_step_duration_seconds_count", ("step", "save_snapshot"), ("result", "failed")).Value);
        Assert.Equal(120, samples.One("nodeagent_agent_step_duration_seconds_sum", ("step", "save_snapshot"), ("result", "failed")).Value);
    }

    [Fact]
    public async Task RunAsync_DestructiveStepOutlivesItsTimeout_NotRetryableAndSaysWhatItWasDoing()
    {
        var hang = new HangingExecutor(Instruction.KindOneofCase.RestoreSnapshot, safe: false, detail: "k3s server --cluster-reset was killed before it finished");
        var restore = new Instruction { Id = "restore", MaxAttempts = 3, Timeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(2)), RestoreSnapshot = new() };
        var run = Runner(hang).RunAsync(Plan(restore), Report, CancellationToken.None);
        await hang.Started.Task.DefaultTimeout();

        _time.Advance(TimeSpan.FromMinutes(2));

        Assert.False(await run.DefaultTimeout());
        Assert.Equal(1, _reports[^1].Attempt);
        Assert.False(_reports[^1].Retryable);
        Assert.Equal("timed out after 00:02:00: k3s server --cluster-reset was killed before it finished", _reports[^1].Message);
        Assert.Equal("last words", _reports[^1].StderrTail);
    }

    [Fact]
    public async Task RunAsync_AfterRestart_CompletedStepIsNotRunAgain()
    {
        var first = new ScriptedExecutor(Instruction.KindOneofCase.SaveSnapshot, safe: true, StepOutcome.Success("saved once"));
        await Runner(first).RunAsync(Plan(Save("s1")), Report, CancellationToken.None).DefaultTimeout();
        _reports.Clear();

        var again = new ScriptedExecutor(Instruction.KindOneofCase.SaveSnapshot, safe: true, StepOutcome.Success("saved twice"));
        var ok = await Runner(again).RunAsync(Plan(Save("s1")), Report, CancellationToken.None).DefaultTimeout();

        Assert.True(ok);
        Assert.Equal(0, again.Calls);
        Assert.Equal("saved once", Assert.Single(_reports).Message);
    }

    [Fact]
    public async Task RunAsync_StepComputedASnapshotSha256_ResultCarriesIt_AlsoFromTheMarkerAfterARestart()
    {
        var sha256 = new string('c', 64);
        var verify = new ScriptedExecutor(Instruction.KindOneofCase.VerifySnapshot, safe: true, StepOutcome.Success("verified") with { SnapshotSha256 = sha256 });
        var plan = Plan(new Instruction { Id = "v1", MaxAttempts = 1, VerifySnapshot = new() });
        await Runner(verify).RunAsync(plan, Report, CancellationToken.None).DefaultTimeout();
        var first = _reports[^1];
        _reports.Clear();

        var again = new ScriptedExecutor(Instruction.KindOneofCase.VerifySnapshot, safe: true, StepOutcome.Success("verified again"));
        await Runner(again).RunAsync(plan, Report, CancellationToken.None).DefaultTimeout();

        Assert.Equal((StepState.Succeeded, sha256), (first.State, first.SnapshotSha256));
        Assert.Equal(sha256, Assert.Single(_reports).SnapshotSha256);
    }

    [Fact]
    public async Task RunAsync_InterruptedDestructiveStep_ReportedFailedNeverRerun()
    {
        new StepMarkers(_state.Path).MarkStarted("op-1", "restore", 1, _time.GetUtcNow());
        var restore = new ScriptedExecutor(Instruction.KindOneofCase.RestoreSnapshot, safe: false, StepOutcome.Success());

        var ok = await Runner(restore).RunAsync(Plan(new Instruction { Id = "restore", MaxAttempts = 3, RestoreSnapshot = new() }), Report, CancellationToken.None).DefaultTimeout();

        Assert.False(ok);
        Assert.Equal(0, restore.Calls);
        Assert.Contains("interrupted by an agent restart", _reports[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_InterruptedSafeStep_RunsItsNextAttempt()
    {
        new StepMarkers(_state.Path).MarkStarted("op-1", "s1", 1, _time.GetUtcNow());
        var save = new ScriptedExecutor(Instruction.KindOneofCase.SaveSnapshot, safe: true, StepOutcome.Success());

        var ok = await Runner(save).RunAsync(Plan(Save("s1", attempts: 2)), Report, CancellationToken.None).DefaultTimeout();

        Assert.True(ok);
        Assert.Equal(1, save.Calls);
        Assert.Equal(2, _reports[^1].Attempt);
    }

    [Fact]
    public async Task RunAsync_StopRequestedDuringAStep_TheStepEndsIsReportedAndNoFurtherStepStarts()
    {
        var killall = new GatedExecutor(Instruction.KindOneofCase.RunKillall);
        var delete = new ScriptedExecutor(Instruction.KindOneofCase.DeleteSnapshot, safe: true, StepOutcome.Success());
        using var stopping = new CancellationTokenSource();
        var plan = Plan(new Instruction { Id = "killall", MaxAttempts = 2, RunKillall = new() }, Delete("s2"));
        var run = Runner(killall, delete).RunAsync(plan, Report, stopping.Token, CancellationToken.None);
        await killall.Started.Task.DefaultTimeout();

        await stopping.CancelAsync();
        killall.Release.SetResult(StepOutcome.Success("stopped etcd"));
        var ok = await run.DefaultTimeout();

        Assert.False(ok);
        Assert.False(killall.Cancelled);
        Assert.Equal(0, delete.Calls);
        Assert.Equal([("killall", StepState.Running), ("killall", StepState.Succeeded)], _reports.Select(r => (r.InstructionId, r.State)));
        Assert.Equal("stopped etcd", _reports[^1].Message);
    }

    [Fact]
    public async Task RunAsync_StopRequestedDuringASave_AbandonsItAndItRunsAgainAfterTheRestart()
    {
        var hanging = new HangingExecutor(abandonOnStop: true);
        using var stopping = new CancellationTokenSource();
        var run = Runner(hanging).RunAsync(Plan(Save("s1", attempts: 1)), Report, stopping.Token, CancellationToken.None);
        await hanging.Started.Task.DefaultTimeout();

        await stopping.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run).DefaultTimeout();
        var save = new ScriptedExecutor(Instruction.KindOneofCase.SaveSnapshot, safe: true, StepOutcome.Success("saved"));
        var ok = await Runner(save).RunAsync(Plan(Save("s1", attempts: 1)), Report, CancellationToken.None).DefaultTimeout();

        Assert.True(ok);
        Assert.Equal(1, save.Calls);
        Assert.Equal((StepState.Succeeded, 1, "saved"), (_reports[^1].State, _reports[^1].Attempt, _reports[^1].Message));
    }

    [Fact]
    public async Task RunAsync_AbortedDuringADestructiveStep_AfterTheRestartReportedInterruptedNeverRerun()
    {
        var hanging = new HangingExecutor(Instruction.KindOneofCase.RestoreSnapshot, safe: false);
        using var abort = new CancellationTokenSource();
        var plan = Plan(new Instruction { Id = "restore", MaxAttempts = 1, RestoreSnapshot = new() });
        var run = Runner(hanging).RunAsync(plan, Report, CancellationToken.None, abort.Token);
        await hanging.Started.Task.DefaultTimeout();

        await abort.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run).DefaultTimeout();
        var restore = new ScriptedExecutor(Instruction.KindOneofCase.RestoreSnapshot, safe: false, StepOutcome.Success());
        var ok = await Runner(restore).RunAsync(plan, Report, CancellationToken.None).DefaultTimeout();

        Assert.False(ok);
        Assert.Equal(0, restore.Calls);
        Assert.Equal("attempt 1 was interrupted by an agent restart; RestoreSnapshot is destructive, so it is not run again", _reports[^1].Message);
    }

    [Fact]
    public async Task RunAsync_StepEndsWhileAProgressReportIsOnTheWire_TheStepSucceedsAndIsReportedOnce()
    {
        var onWire = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var save = new ProgressExecutor(onWire.Task);
        // The progress report hangs until its call is cancelled, then fails as gRPC does.
        Task ReportWithSlowProgress(StepResult result, CancellationToken cancellationToken)
        {
            if (result.Progress is null)
            {
                return Report(result, cancellationToken);
            }
            onWire.TrySetResult();
            return CancelledByTheClientAsync(cancellationToken);
        }

        var run = Runner(save).RunAsync(Plan(Save("s1")), ReportWithSlowProgress, CancellationToken.None);
        await save.Reported.Task.DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(1));
        var ok = await run.DefaultTimeout();

        Assert.True(ok);
        Assert.Equal(1, save.Calls);
        Assert.Equal([("s1", StepState.Running), ("s1", StepState.Succeeded)], _reports.Select(r => (r.InstructionId, r.State)));
    }

    private static async Task CancelledByTheClientAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // What StatusReporter makes of gRPC's Cancelled when its caller cancelled.
            throw new OperationCanceledException("the status report was cancelled", new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Cancelled, "Call canceled by the client.")), cancellationToken);
        }
    }

    [Fact]
    public async Task RunAsync_UnknownInstructionKind_FailsWithClearMessage()
    {
        var ok = await Runner().RunAsync(Plan(Save("s1")), Report, CancellationToken.None).DefaultTimeout();

        Assert.False(ok);
        Assert.Contains("cannot run instructions of kind SaveSnapshot", _reports[^1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_MarkersCannotBeWritten_ReportsTheStepFailedWithTheReasonAndThrows()
    {
        var markers = Path.Combine(_state.Path, "steps");
        await File.WriteAllTextAsync(markers, "a file where the markers dir goes");
        var save = new ScriptedExecutor(Instruction.KindOneofCase.SaveSnapshot, safe: true, StepOutcome.Success());

        await Assert.ThrowsAnyAsync<IOException>(() => Runner(save).RunAsync(Plan(Save("s1")), Report, CancellationToken.None)).DefaultTimeout();

        Assert.Equal(0, save.Calls);
        var failed = Assert.Single(_reports);
        Assert.Equal(("s1", StepState.Failed, true), (failed.InstructionId, failed.State, failed.Retryable));
        Assert.StartsWith("the agent could not record the step in its state dir (DirectoryNotFoundException: ", failed.Message, StringComparison.Ordinal);
        Assert.Contains(markers, failed.Message, StringComparison.Ordinal);
    }

    private StepRunner Runner(params IInstructionExecutor[] executors)
        => new(executors, new StepMarkers(_state.Path), new StepRetrySettings(TimeSpan.Zero), _metrics, _time, NullLogger<StepRunner>.Instance);

    private Task Report(StepResult result, CancellationToken cancellationToken)
    {
        lock (_reports)
        {
            _reports.Add(result.Clone());
        }
        return Task.CompletedTask;
    }

    private static Plan Plan(params Instruction[] instructions)
        => new() { Checksum = "c", Operation = new OperationPlan { OperationId = "op-1", Instructions = { instructions } } };

    private static Instruction Save(string id, int attempts = 1, TimeSpan? timeout = null) => new()
    {
        Id = id,
        MaxAttempts = attempts,
        Timeout = Duration.FromTimeSpan(timeout ?? TimeSpan.FromMinutes(10)),
        SaveSnapshot = new SaveSnapshotInstruction { Name = "on-demand" },
    };

    private static Instruction Delete(string id) => new() { Id = id, MaxAttempts = 1, DeleteSnapshot = new DeleteSnapshotInstruction { Snapshot = "on-demand-n1-1700000000" } };

    /// <summary>An executor of ours that answers from a script (our own interface, not a stand-in for a real dependency).</summary>
    private sealed class ScriptedExecutor(Instruction.KindOneofCase kind, bool safe, params StepOutcome[] outcomes) : IInstructionExecutor
    {
        public int Calls { get; private set; }

        public Instruction.KindOneofCase Kind => kind;

        public bool SafeToRerun => safe;

        public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
            => Task.FromResult(outcomes[Math.Min(Calls++, outcomes.Length - 1)]);
    }

    private sealed class HangingExecutor(Instruction.KindOneofCase kind = Instruction.KindOneofCase.SaveSnapshot, bool safe = true, string? detail = null,
        bool abandonOnStop = false) : IInstructionExecutor
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Instruction.KindOneofCase Kind => kind;

        public bool SafeToRerun => safe;

        public bool AbandonOnStop => abandonOnStop;

        public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        {
            Started.SetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }
            catch (OperationCanceledException) when (detail is not null)
            {
                throw new StepCancelledException(detail, cancellationToken, stderrTail: "last words");
            }
            return StepOutcome.Success();
        }
    }

    /// <summary>An executor of ours that ends when the test says how (or when cancelled).</summary>
    private sealed class GatedExecutor(Instruction.KindOneofCase kind) : IInstructionExecutor
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<StepOutcome> Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Cancelled { get; private set; }

        public Instruction.KindOneofCase Kind => kind;

        public bool SafeToRerun => true;

        public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        {
            Started.SetResult();
            try
            {
                return await Release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }
        }
    }

    /// <summary>A save of ours that reports progress, then ends once that progress is being sent.</summary>
    private sealed class ProgressExecutor(Task progressSent) : IInstructionExecutor
    {
        public TaskCompletionSource Reported { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls { get; private set; }

        public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.SaveSnapshot;

        public bool SafeToRerun => true;

        public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        {
            Calls++;
            context.ReportProgress(1, 2, 0);
            Reported.SetResult();
            await progressSent.WaitAsync(cancellationToken);
            return StepOutcome.Success("saved");
        }
    }
}
