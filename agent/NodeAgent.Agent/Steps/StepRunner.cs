using Google.Protobuf.WellKnownTypes;
using NodeAgent.Agent.Metrics;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Steps;

/// <summary>
/// Runs an operation plan's instructions in order: each attempt under its timeout, retries up to
/// the instruction's bound, a started marker before and a result marker after every attempt,
/// and the first failure stops the rest. Every instruction ends in a reported result.
/// Two ways to end early: <c>stopping</c> (the agent stops, as on every restart and upgrade: the
/// step in hand ends and is reported, no further step starts; a save is abandoned, its attempt
/// not counted) and the cancellation token (abort: the step in hand is cancelled, and a
/// destructive one is then never run again).
/// </summary>
internal sealed partial class StepRunner(
    IEnumerable<IInstructionExecutor> executors,
    StepMarkers markers,
    StepRetrySettings retry,
    AgentMetrics metrics,
    TimeProvider time,
    ILogger<StepRunner> logger)
{
    private readonly Dictionary<Instruction.KindOneofCase, IInstructionExecutor> _executors = executors.ToDictionary(e => e.Kind);

    /// <summary>True when every instruction succeeded (or was skipped).</summary>
    public Task<bool> RunAsync(Plan plan, Func<StepResult, CancellationToken, Task> report, CancellationToken cancellationToken)
        => RunAsync(plan, report, cancellationToken, cancellationToken);

    /// <summary>True when every instruction succeeded (or was skipped); false also when <paramref name="stopping"/> left steps to run.</summary>
    public async Task<bool> RunAsync(Plan plan, Func<StepResult, CancellationToken, Task> report, CancellationToken stopping, CancellationToken cancellationToken)
    {
        var operation = plan.Operation;
        foreach (var instruction in operation.Instructions)
        {
            if (stopping.IsCancellationRequested)
            {
                LogStoppedBefore(logger, operation.OperationId, instruction.Id);
                return false;
            }
            StepRecord record;
            try
            {
                record = await RunOneAsync(plan, instruction, report, stopping, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // The markers could not be written (a full, read-only or broken state dir): the server
                // learns why at once, and the plan loop applies the plan again after a backoff.
                LogMarkersFailed(logger, operation.OperationId, instruction.Id, ex);
                await report(Faulted(operation.OperationId, instruction.Id, time.GetUtcNow(), ex), cancellationToken);
                throw;
            }
            await report(ToResult(record), cancellationToken);
            if (!record.Succeeded)
            {
                return false;
            }
        }
        markers.Prune();
        return true;
    }

    private async Task<StepRecord> RunOneAsync(Plan plan, Instruction instruction, Func<StepResult, CancellationToken, Task> report,
        CancellationToken stopping, CancellationToken cancellationToken)
    {
        var operationId = plan.Operation.OperationId;
        if (markers.Completed(operationId, instruction.Id) is { } done)
        {
            LogAlreadyDone(logger, operationId, instruction.Id, done.Succeeded);
            return done;
        }
        var started = markers.AttemptsStarted(operationId, instruction.Id);
        var maxAttempts = Math.Max(1, instruction.MaxAttempts);
        if (!_executors.TryGetValue(instruction.KindCase, out var executor))
        {
            return Complete(operationId, instruction, started + 1, time.GetUtcNow(),
                StepOutcome.Failure($"this agent cannot run instructions of kind {instruction.KindCase}", retryable: false));
        }
        if (started > 0 && !executor.SafeToRerun)
        {
            return Complete(operationId, instruction, started, time.GetUtcNow(), StepOutcome.Failure(
                $"attempt {started} was interrupted by an agent restart; {instruction.KindCase} is destructive, so it is not run again", retryable: false));
        }
        if (started >= maxAttempts)
        {
            return Complete(operationId, instruction, started, time.GetUtcNow(), StepOutcome.Failure(
                $"all {maxAttempts} attempts were used (the last was interrupted by an agent restart)", retryable: false));
        }
        for (var attempt = started + 1; ; attempt++)
        {
            var startedAt = time.GetUtcNow();
            markers.MarkStarted(operationId, instruction.Id, attempt, startedAt);
            await report(Running(operationId, instruction.Id, attempt, startedAt), cancellationToken);
            LogAttempt(logger, operationId, instruction.Id, attempt, maxAttempts);
            var outcome = await AttemptAsync(plan, instruction, executor, attempt, report, stopping, cancellationToken);
            if (outcome.Succeeded || !outcome.Retryable || attempt >= maxAttempts)
            {
                return Complete(operationId, instruction, attempt, startedAt, outcome);
            }
            LogRetry(logger, operationId, instruction.Id, attempt, outcome.Message);
            // A stop during the backoff ends here; the next attempt runs after the restart.
            await Task.Delay(retry.Backoff * attempt, time, stopping);
        }
    }

    private async Task<StepOutcome> AttemptAsync(Plan plan, Instruction instruction, IInstructionExecutor executor, int attempt,
        Func<StepResult, CancellationToken, Task> report, CancellationToken stopping, CancellationToken cancellationToken)
    {
        var operationId = plan.Operation.OperationId;
        var timeout = instruction.Timeout?.ToTimeSpan() is { } t && t > TimeSpan.Zero ? t : TimeSpan.FromMinutes(30);
        var abandon = executor.SafeToRerun && executor.AbandonOnStop;
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = abandon
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token, stopping)
            : CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        using var stopNotice = stopping.Register(() =>
        {
            if (cancellationToken.IsCancellationRequested)
            {
                // An abort (a newer plan, or the stop bound ran out) came first: nothing finishes.
                return;
            }
            if (abandon)
            {
                LogAbandoning(logger, operationId, instruction.Id, attempt);
            }
            else
            {
                LogFinishingFirst(logger, operationId, instruction.Id, attempt);
            }
        });
        Progress? latest = null;
        var context = new StepContext(plan, progress => Volatile.Write(ref latest, progress));
        using var pumpStop = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
        var pump = PumpProgressAsync(() => Interlocked.Exchange(ref latest, null), plan.Operation.OperationId, instruction.Id, attempt, report, pumpStop.Token);
        try
        {
            return await executor.ExecuteAsync(instruction, context, linked.Token);
        }
        catch (OperationCanceledException) when (executor.SafeToRerun && !deadline.IsCancellationRequested
            && (cancellationToken.IsCancellationRequested || (abandon && stopping.IsCancellationRequested)))
        {
            // Abandoned by a stop or an abort, not cut by a crash: this attempt does not count, and
            // the step runs again (not refused as interrupted) when the agent is back. A destructive
            // step keeps its started marker: after a restart it is reported as interrupted.
            markers.WithdrawStarted(operationId, instruction.Id, attempt);
            throw;
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // A destructive step that ran out of time is not tried again: it may have done part of its work.
            var timedOut = StepOutcome.Failure($"timed out after {timeout}", retryable: executor.SafeToRerun);
            return ex is StepCancelledException detail
                ? timedOut with { Message = $"{timedOut.Message}: {detail.Message}", StdoutTail = detail.StdoutTail, StderrTail = detail.StderrTail }
                : timedOut;
        }
#pragma warning disable CA1031 // An executor's unexpected failure becomes the step's reported result, not a dead loop.
        catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogExecutorFailed(logger, instruction.Id, ex);
            return StepOutcome.Failure($"{ex.GetType().Name}: {ex.Message}", retryable: false);
        }
        finally
        {
            await pumpStop.CancelAsync();
            await pump;
        }
    }

    /// <summary>Sends the newest progress of a running step about once a second (best effort).</summary>
    private async Task PumpProgressAsync(Func<Progress?> take, string operationId, string instructionId, int attempt,
        Func<StepResult, CancellationToken, Task> report, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (take() is { } progress)
                {
                    var running = Running(operationId, instructionId, attempt, time.GetUtcNow());
                    running.Progress = progress;
                    await report(running, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The attempt ended while a progress report was on the wire (the reporter turns gRPC's
            // Cancelled into this): that must not fail the attempt (it did: a finished save ran again).
        }
    }

    private StepRecord Complete(string operationId, Instruction instruction, int attempt, DateTimeOffset startedAt, StepOutcome outcome)
    {
        var record = new StepRecord(operationId, instruction.Id, outcome.Succeeded, outcome.Skipped, outcome.Message, outcome.Retryable,
            attempt, outcome.ExitCode, outcome.StdoutTail, outcome.StderrTail, startedAt, time.GetUtcNow() - startedAt, outcome.SnapshotSha256);
        markers.MarkCompleted(record);
        metrics.StepEnded(instruction, outcome.Succeeded, outcome.Skipped, record.Duration);
        LogCompleted(logger, operationId, instruction.Id, outcome.Succeeded, outcome.Message);
        return record;
    }

    private static StepResult Running(string operationId, string instructionId, int attempt, DateTimeOffset startedAt) => new()
    {
        OperationId = operationId,
        InstructionId = instructionId,
        State = StepState.Running,
        Attempt = attempt,
        StartedAt = Timestamp.FromDateTimeOffset(startedAt),
    };

    private static StepResult Faulted(string operationId, string instructionId, DateTimeOffset at, Exception ex) => new()
    {
        OperationId = operationId,
        InstructionId = instructionId,
        State = StepState.Failed,
        StartedAt = Timestamp.FromDateTimeOffset(at),
        Duration = Duration.FromTimeSpan(TimeSpan.Zero),
        Message = $"the agent could not record the step in its state dir ({ex.GetType().Name}: {ex.Message}); it tries again",
        Retryable = true,
    };

    public static StepResult ToResult(StepRecord record) => new()
    {
        OperationId = record.OperationId,
        InstructionId = record.InstructionId,
        State = record.Skipped ? StepState.Skipped : record.Succeeded ? StepState.Succeeded : StepState.Failed,
        Attempt = record.Attempt,
        ExitCode = record.ExitCode,
        StartedAt = Timestamp.FromDateTimeOffset(record.StartedAt),
        Duration = Duration.FromTimeSpan(record.Duration),
        StdoutTail = record.StdoutTail,
        StderrTail = record.StderrTail,
        Message = record.Message,
        Retryable = record.Retryable,
        SnapshotSha256 = record.SnapshotSha256 ?? "",
    };

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Operation {OperationId}: {InstructionId} attempt {Attempt} of {MaxAttempts}")]
    private static partial void LogAttempt(ILogger logger, string operationId, string instructionId, int attempt, int maxAttempts);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Operation {OperationId}: {InstructionId} attempt {Attempt} failed, retrying: {Reason}")]
    private static partial void LogRetry(ILogger logger, string operationId, string instructionId, int attempt, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Operation {OperationId}: {InstructionId} ended, succeeded={Succeeded}: {Message}")]
    private static partial void LogCompleted(ILogger logger, string operationId, string instructionId, bool succeeded, string message);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Operation {OperationId}: {InstructionId} already completed (succeeded={Succeeded}); not run again")]
    private static partial void LogAlreadyDone(ILogger logger, string operationId, string instructionId, bool succeeded);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "Operation {OperationId}: {InstructionId} failed: the agent could not record the step in its state dir")]
    private static partial void LogMarkersFailed(ILogger logger, string operationId, string instructionId, Exception exception);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Operation {OperationId}: the agent is stopping; it finishes {InstructionId} (attempt {Attempt}) first")]
    private static partial void LogFinishingFirst(ILogger logger, string operationId, string instructionId, int attempt);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Information, Message = "Operation {OperationId}: the agent is stopping; {InstructionId} (attempt {Attempt}) is abandoned and runs again when the agent is back")]
    private static partial void LogAbandoning(ILogger logger, string operationId, string instructionId, int attempt);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Operation {OperationId}: the agent is stopping; {InstructionId} and the steps after it run when the agent is back")]
    private static partial void LogStoppedBefore(ILogger logger, string operationId, string instructionId);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Instruction {InstructionId} failed unexpectedly")]
    private static partial void LogExecutorFailed(ILogger logger, string instructionId, Exception exception);
}

/// <summary>How long to wait before attempt n+1 of a step: n × <see cref="Backoff"/>.</summary>
internal sealed record StepRetrySettings(TimeSpan Backoff)
{
    public static readonly StepRetrySettings Default = new(TimeSpan.FromSeconds(5));
}
