using Microsoft.Extensions.Hosting.Systemd;

namespace NodeAgent.Agent.Hosting;

/// <summary>
/// sd_notify through NOTIFY_SOCKET (a no-op outside systemd): READY=1 once the config is valid
/// and the first plan request succeeded, STOPPING=1 on shutdown, WATCHDOG=1 while the plan loop
/// is alive, STATUS= lines for systemctl status.
/// </summary>
internal sealed class SystemdNotifications(ISystemdNotifier notifier)
{
    private int _ready;

    public bool Enabled => notifier.IsEnabled;

    public void Ready()
    {
        if (Interlocked.Exchange(ref _ready, 1) == 0)
        {
            notifier.Notify(ServiceState.Ready);
            notifier.Notify(new ServiceState("STATUS=following the plan server"));
        }
    }

    public void Stopping() => notifier.Notify(ServiceState.Stopping);

    public void Watchdog() => notifier.Notify(new ServiceState("WATCHDOG=1"));
}
