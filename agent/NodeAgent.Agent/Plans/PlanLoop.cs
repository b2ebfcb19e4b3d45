using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Hosting;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;
using Polly;

namespace NodeAgent.Agent.Plans;

/// <summary>
/// The agent's main loop: long-polls its plan, applies a new one (the current operation's steps
/// run beside the poll, so a cancel or a newer plan is seen at once), and reports what happened.
/// </summary>
internal sealed partial class PlanLoop(
    IPlanServerClient client,
    Registration registration,
    StepRunner runner,
    StatusReporter reporter,
    IEnumerable<ISteadyStateHandler> steadyStateHandlers,
    AgentIdentity identity,
    AgentOptions options,
    SystemdNotifications systemd,
    TimeProvider time,
    ILogger<PlanLoop> logger)
{
    private ResiliencePipeline? _retry;

    /// <summary>When the loop last made progress: an answer, or a retry while the server is away (the watchdog checks it).</summary>
    public DateTimeOffset LastActivity { get; private set; } = DateTimeOffset.MinValue;

    private ResiliencePipeline Retry => _retry ??= PlanServerRetry.Create(time, (outcome, delay) =>
    {
        LastActivity = time.GetUtcNow();
        LogServerAway(logger, outcome.Exception?.Message ?? "unknown error", delay);
    });

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await registration.EnsureAsync(Retry, forceNew: false, cancellationToken);
        var known = "";
        ActiveOperation? active = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
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
                    }, options.PollWait + TimeSpan.FromSeconds(15), ct), cancellationToken);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.Unauthenticated)
                {
                    LogCredentialRejected(logger, identity.Node);
                    await registration.EnsureAsync(Retry, forceNew: true, cancellationToken);
                    continue;
                }
                LastActivity = time.GetUtcNow();
                systemd.Ready();
                await reporter.RetryPendingAsync(cancellationToken);
                if (response.Unchanged)
                {
                    continue;
                }
                known = response.Plan.Checksum;
                LogNewPlan(logger, known, response.Plan.Operation?.OperationId ?? "none");
                foreach (var handler in steadyStateHandlers)
                {
                    await handler.ApplyAsync(response.Plan.SteadyState, cancellationToken);
                }
                active = await SwitchAsync(active, response.Plan, cancellationToken);
            }
        }
        finally
        {
            if (active is not null)
            {
                await active.StopAsync();
            }
        }
    }

    private async Task<ActiveOperation?> SwitchAsync(ActiveOperation? active, Plan plan, CancellationToken cancellationToken)
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
            await reporter.ChecksumsAsync(plan.Checksum, plan.Checksum, cancellationToken);
            return null;
        }
        var next = new ActiveOperation(key, plan.Checksum, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken));
        next.Task = ApplyAsync(plan, next);
        return next;
    }

    private async Task ApplyAsync(Plan plan, ActiveOperation active)
    {
        var ct = active.Cancellation.Token;
        try
        {
            await reporter.ChecksumsAsync("", plan.Checksum, ct);
            if (await runner.RunAsync(plan, reporter.StepAsync, ct))
            {
                await reporter.ChecksumsAsync(active.LatestChecksum, active.LatestChecksum, ct);
            }
        }
        catch (Exception ex) when (ct.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // A newer plan ended this one, possibly while a report was on the wire.
            LogOperationStopped(logger, plan.Operation.OperationId);
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "New plan {Checksum} (operation: {OperationId})")]
    private static partial void LogNewPlan(ILogger logger, string checksum, string operationId);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Plan server unreachable ({Reason}); retrying in {Delay}")]
    private static partial void LogServerAway(ILogger logger, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "The plan server no longer accepts the credential of node {Node}; registering again")]
    private static partial void LogCredentialRejected(ILogger logger, string node);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information, Message = "Operation {OperationId} no longer in the plan; its steps were stopped")]
    private static partial void LogOperationStopped(ILogger logger, string operationId);
}

/// <summary>Something that follows the steady-state part of the plan (e.g. the snapshot schedule).</summary>
internal interface ISteadyStateHandler
{
    Task ApplyAsync(SteadyStatePlan steadyState, CancellationToken cancellationToken);
}

/// <summary>The operation whose steps are running, keyed by operation and instruction ids.</summary>
internal sealed class ActiveOperation(string key, string checksum, CancellationTokenSource cancellation)
{
    public string Key { get; } = key;

    public string LatestChecksum { get; set; } = checksum;

    public CancellationTokenSource Cancellation { get; } = cancellation;

    public Task Task { get; set; } = Task.CompletedTask;

    public static string KeyOf(Plan plan)
        => plan.Operation is null ? "" : plan.Operation.OperationId + "/" + string.Join(',', plan.Operation.Instructions.Select(i => i.Id));

    public async Task StopAsync()
    {
        await Cancellation.CancelAsync();
        await Task;
        Cancellation.Dispose();
    }
}
