using NodeAgent.Agent.Plans;

namespace NodeAgent.Agent.Hosting;

/// <summary>
/// Runs the plan loop for the life of the service. A fatal condition stops the host with exit
/// code 1 (systemd's Restart=always brings it back); a clean stop sends STOPPING=1. READY=1 goes
/// once the plan server first answered. On a stop (SIGTERM) the step in hand ends and is reported
/// before the agent exits; only when the host's shutdown timeout (<see cref="AgentHost.StopBound"/>)
/// runs out is it aborted.
/// </summary>
internal sealed partial class PlanLoopService(
    PlanLoop loop,
    SystemdNotifications systemd,
    IHostApplicationLifetime lifetime,
    ILogger<PlanLoopService> logger) : BackgroundService
{
    private readonly CancellationTokenSource _abort = new();

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // cancellationToken ends when the host's shutdown timeout runs out: then the step in hand is aborted.
        using var abort = cancellationToken.Register(_abort.Cancel);
        await base.StopAsync(cancellationToken);
    }

    public override void Dispose()
    {
        _abort.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var stopping = lifetime.ApplicationStopping.Register(systemd.Stopping);
        try
        {
            var run = loop.RunAsync(stoppingToken, _abort.Token);
            if (await Task.WhenAny(run, loop.Answered) != run)
            {
                systemd.Ready();
            }
            await run;
        }
        catch (Exception ex) when (stoppingToken.IsCancellationRequested && ex is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
        {
            // A clean stop, possibly while the long-poll was on the wire: gRPC reports that as Cancelled.
        }
        catch (AgentFatalException ex)
        {
            LogFatal(logger, ex.Message);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
#pragma warning disable CA1031 // The loop must not die unseen: a bug stops the agent with the reason, and systemd restarts it.
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
#pragma warning restore CA1031
        {
            LogCrashed(logger, ex);
            Environment.ExitCode = 1;
            lifetime.StopApplication();
        }
    }

    [LoggerMessage(EventId = 1302, Level = LogLevel.Critical, Message = "The plan loop failed unexpectedly; node-agent stops (systemd restarts it)")]
    private static partial void LogCrashed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Critical, Message = "node-agent cannot go on: {Reason}")]
    private static partial void LogFatal(ILogger logger, string reason);
}
