using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;
using Polly;

namespace NodeAgent.Agent.Plans;

/// <summary>
/// The agent's main loop: long-polls its plan, applies a new one (the current operation's steps
/// run beside the poll, so a cancel or a newer plan is seen at once), and reports what happened.
/// A stop of the agent (<c>stopping</c>) ends the poll at once but lets the step in hand end and
/// be reported; only the abort token (the host's shutdown timeout ran out) cancels that step.
/// </summary>
internal sealed partial class PlanLoop(
    IPlanServerClient client,
    Registration registration,
    StepRunner runner,
    StatusReporter reporter,
    IEnumerable<ISteadyStateHandler> steadyStateHandlers,
    AgentIdentity identity,
    AgentOptions options,
    TimeProvider time,
    ILogger<PlanLoop> logger)
{
    private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ResiliencePipeline? _retry;
    private int _steadyStateFailures;

    /// <summary>Completes when the plan server first answered a plan request (systemd's READY=1 waits for it).</summary>
    public Task Answered => _answered.Task;

    /// <summary>When the loop last made progress: an answer, or a retry while the server is away (the watchdog checks it).</summary>
    public DateTimeOffset LastActivity { get; private set; } = DateTimeOffset.MinValue;

    private ResiliencePipeline Retry => _retry ??= PlanServerRetry.Create(time, (outcome, delay) =>
    {
        LastActivity = time.GetUtcNow();
        LogServerAway(logger, outcome.Exception?.Message ?? "unknown error", delay);
    });

    /// <summary>Runs until <paramref name="stopping"/>; then waits for the step in hand (cancelled only by <paramref name="cancellationToken"/>).</summary>
    public async Task RunAsync(CancellationToken stopping, CancellationToken cancellationToken)
    {
        await registration.EnsureAsync(Retry, forceNew: false, stopping);
        var known = "";
        ActiveOperation? active = null;
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                GetPlanResponse response;
                try
                {
                    response = await Retry.ExecuteAsync(async ct => await client.GetPlanAsync(new GetPlanRequest
                    {
                        Cluster = identity.Cluster,
                        Node = identity.Node,
                        KnownChecksum = known,
                        Wait = Duration.FromTimeSpan(options.PollWait),
                    }, options.PollWait + TimeSpan.FromSeconds(15), ct), stopping);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
                {
                    LogCredentialRejected(logger, identity.Node);
                    await registration.EnsureAsync(Retry, forceNew: true, stopping);
                    continue;
                }
                LastActivity = time.GetUtcNow();
                _answered.TrySetResult();
                await reporter.RetryPendingAsync(stopping);
                if (response.Unchanged)
                {
                    continue;
                }
                LogNewPlan(logger, response.Plan.Checksum, response.Plan.Operation?.OperationId ?? "none");
                if (!await ApplySteadyStateAsync(response.Plan, stopping))
                {
                    // Not taken as known: the next poll answers with the same plan, and it is applied again.
                    continue;
                }
                known = response.Plan.Checksum;
                active = await SwitchAsync(active, response.Plan, stopping, cancellationToken);
            }
        }
        finally
        {
            if (active is not null)
            {
                // The agent stops: the step in hand ends and is reported (or is aborted at the host's bound).
                await active.FinishAsync();
            }
        }
    }

    /// <summary>Applies the steady state; on a failure logs it, waits a backoff and returns false.</summary>
    private async Task<bool> ApplySteadyStateAsync(Plan plan, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var handler in steadyStateHandlers)
            {
                await handler.ApplyAsync(plan.SteadyState, cancellationToken);
            }
            _steadyStateFailures = 0;
            return true;
        }
#pragma warning disable CA1031 // Whatever the failure, the loop must live on: it is logged and the plan applied again.
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            var delay = ApplyBackoff(++_steadyStateFailures);
            LogSteadyStateFailed(logger, plan.Checksum, delay, ex);
            await Task.Delay(delay, time, cancellationToken);
            return false;
        }
    }

    /// <summary>Wait before applying a plan again after its n-th failure in a row: 2^(n-1) s, at most 5 minutes.</summary>
    internal static TimeSpan ApplyBackoff(int failures)
        => TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, Math.Clamp(failures - 1, 0, 16))));

    private async Task<ActiveOperation?> SwitchAsync(ActiveOperation? active, Plan plan, CancellationToken stopping, CancellationToken cancellationToken)
    {
        var key = ActiveOperation.KeyOf(plan);
        if (active is not null && active.Key == key && !active.Task.IsCompleted)
        {
            active.LatestChecksum = plan.Checksum;
            return active;
        }
        if (active is not null)
        {
            await active.StopAsync();
        }
        if (plan.Operation is null)
        {
            await reporter.ChecksumsAsync(plan.Checksum, stopping);
            return null;
        }
        var next = new ActiveOperation(key, plan.Checksum, stopping, cancellationToken);
        next.Task = ApplyAsync(plan, next);
        return next;
    }

    private async Task ApplyAsync(Plan plan, ActiveOperation active)
    {
        var ct = active.Abort;
        var stopping = active.Stopping;
        for (var failures = 1; ; failures++)
        {
            try
            {
                await reporter.ChecksumsAsync("", ct);
                if (await runner.RunAsync(plan, reporter.StepAsync, stopping, ct))
                {
                    await reporter.ChecksumsAsync(active.LatestChecksum, ct);
                }
                else if (stopping.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    LogOperationPaused(logger, plan.Operation.OperationId);
                }
                return;
            }
            catch (Exception ex) when (ct.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
            {
                // A newer plan ended this one (or the stop ran out of time), possibly while a report was on the wire.
                LogOperationStopped(logger, plan.Operation.OperationId);
                return;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // The agent stops between attempts, or a save was abandoned: it goes on when the agent is back.
                LogOperationPaused(logger, plan.Operation.OperationId);
                return;
            }
#pragma warning disable CA1031 // Nothing may end the apply task unseen: the operation was ended meanwhile, so the failure is logged and not retried.
            catch (Exception ex) when (ct.IsCancellationRequested)
#pragma warning restore CA1031
            {
                // A failure that met the operation's end (a newer plan, often the one its own report brought,
                // or the stop ran out of time): it must not end the loop, and there is nothing to apply again.
                LogFailedAsStopped(logger, plan.Operation.OperationId, ex);
                return;
            }
#pragma warning disable CA1031 // Nothing may end the apply task unseen: the failure is logged and the plan applied again.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var delay = ApplyBackoff(failures);
                LogApplyFailed(logger, plan.Operation.OperationId, delay, ex);
                try
                {
                    await Task.Delay(delay, time, stopping);
                }
                catch (OperationCanceledException)
                {
                    LogOperationStopped(logger, plan.Operation.OperationId);
                    return;
                }
            }
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "New plan {Checksum} (operation: {OperationId})")]
    private static partial void LogNewPlan(ILogger logger, string checksum, string operationId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Plan server unreachable ({Reason}); retrying in {Delay}")]
    private static partial void LogServerAway(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "The plan server no longer accepts the credential of node {Node}; registering again")]
    private static partial void LogCredentialRejected(ILogger logger, string node);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Error, Message = "Applying operation {OperationId} failed; applying it again in {Delay}")]
    private static partial void LogApplyFailed(ILogger logger, string operationId, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Error, Message = "Applying the steady state of plan {Checksum} failed; applying it again in {Delay}")]
    private static partial void LogSteadyStateFailed(ILogger logger, string checksum, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "Operation {OperationId} no longer in the plan; its steps were stopped")]
    private static partial void LogOperationStopped(ILogger logger, string operationId);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning, Message = "Operation {OperationId} failed while it was being stopped (a newer plan, or the stop ran out of time)")]
    private static partial void LogFailedAsStopped(ILogger logger, string operationId, Exception exception);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Information, Message = "Operation {OperationId}: the agent stops; the operation goes on when it is back")]
    private static partial void LogOperationPaused(ILogger logger, string operationId);
}

/// <summary>Something that follows the steady-state part of the plan (e.g. the snapshot schedule).</summary>
internal interface ISteadyStateHandler
{
    Task ApplyAsync(SteadyStatePlan steadyState, CancellationToken cancellationToken);
}

/// <summary>
/// The operation whose steps are running, keyed by operation and instruction ids. Two ways to end
/// it: <see cref="StopAsync"/> (a newer plan: the step in hand is cancelled) and
/// <see cref="FinishAsync"/> (the agent stops: the step in hand ends first).
/// </summary>
internal sealed class ActiveOperation(string key, string checksum, CancellationToken stopping, CancellationToken abort)
{
    private readonly CancellationTokenSource _stopping = CancellationTokenSource.CreateLinkedTokenSource(stopping);
    private readonly CancellationTokenSource _abort = CancellationTokenSource.CreateLinkedTokenSource(abort);
    private bool _ended;

    public string Key { get; } = key;

    public string LatestChecksum { get; set; } = checksum;

    /// <summary>No further step starts.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>The step in hand is cancelled.</summary>
    public CancellationToken Abort => _abort.Token;

    public Task Task { get; set; } = Task.CompletedTask;

    public static string KeyOf(Plan plan)
        => plan.Operation is null ? "" : plan.Operation.OperationId + "/" + string.Join(',', plan.Operation.Instructions.Select(i => i.Id));

    public Task StopAsync() => EndAsync(abort: true);

    public Task FinishAsync() => EndAsync(abort: false);

    /// <summary>
    /// Ends the operation once: the loop may end it again (its <c>finally</c> after a switch that stopped it
    /// threw), and then only awaits what already ended, never touching the disposed token sources.
    /// </summary>
    private async Task EndAsync(bool abort)
    {
        if (_ended)
        {
            await Task;
            return;
        }
        _ended = true;
        if (abort)
        {
            await _abort.CancelAsync();
        }
        await _stopping.CancelAsync();
        await Task;
        _stopping.Dispose();
        _abort.Dispose();
    }
}
