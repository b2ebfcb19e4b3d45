using NodeAgent.Agent.Config;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Plans;

namespace NodeAgent.Agent.Hosting;

/// <summary>
/// Whether the plan loop is alive: it heard from the server or retried within twice the longest a
/// poll can take (poll-wait plus its deadline margin) or a retry can wait. Drives systemd's
/// watchdog and the agent's /healthz.
/// </summary>
internal sealed class PlanLoopLiveness(PlanLoop loop, AgentOptions options, TimeProvider time) : IAgentLiveness
{
    private readonly DateTimeOffset _started = time.GetUtcNow();

    public bool IsAlive(out TimeSpan sinceLastActivity)
    {
        var last = loop.LastActivity == DateTimeOffset.MinValue ? _started : loop.LastActivity;
        sinceLastActivity = time.GetUtcNow() - last;
        return sinceLastActivity < 2 * (options.PollWait + TimeSpan.FromSeconds(45));
    }
}
