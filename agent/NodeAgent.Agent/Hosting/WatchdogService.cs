using NodeAgent.Agent.Config;
using NodeAgent.Agent.Plans;

namespace NodeAgent.Agent.Hosting;

/// <summary>
/// Pings systemd's watchdog at half its interval while the plan loop has heard from the server
/// or retried recently enough; a wedged loop stops the pings and systemd restarts us.
/// </summary>
internal sealed class WatchdogService(
    PlanLoopLiveness liveness,
    SystemdNotifications systemd,
    WatchdogSettings settings,
    TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Interval is not { } interval || !systemd.Enabled)
        {
            return;
        }
        using var timer = new PeriodicTimer(interval / 2, time);
        do
        {
            if (liveness.IsAlive(out _))
            {
                systemd.Watchdog();
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

/// <summary>systemd's watchdog interval (from WATCHDOG_USEC), if any.</summary>
internal sealed record WatchdogSettings(TimeSpan? Interval);
