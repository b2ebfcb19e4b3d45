using NodeAgent.Agent.Config;
using NodeAgent.Agent.Plans;

namespace NodeAgent.Agent.Hosting;

/// <summary>
/// Pings systemd's watchdog at half its interval while the plan loop has heard from the server
/// or retried recently enough; a wedged loop stops the pings and systemd restarts us.
/// </summary>
internal sealed class WatchdogService(
    PlanLoop loop,
    SystemdNotifications systemd,
    WatchdogSettings settings,
    AgentOptions options,
    TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Interval is not { } interval || !systemd.Enabled)
        {
            return;
        }
        var started = time.GetUtcNow();
        // A poll lasts at most poll-wait plus its deadline margin, a retry waits at most 30 s.
        var stale = 2 * (options.PollWait + TimeSpan.FromSeconds(45));
        using var timer = new PeriodicTimer(interval / 2, time);
        do
        {
            var last = loop.LastActivity == DateTimeOffset.MinValue ? started : loop.LastActivity;
            if (time.GetUtcNow() - last < stale)
            {
                systemd.Watchdog();
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}

/// <summary>systemd's watchdog interval (from WATCHDOG_USEC), if any.</summary>
internal sealed record WatchdogSettings(TimeSpan? Interval);
