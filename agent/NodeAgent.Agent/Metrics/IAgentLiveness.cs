namespace NodeAgent.Agent.Metrics;

/// <summary>
/// Whether the agent is alive, as /healthz reports it. Hosting's <c>PlanLoopLiveness</c> implements
/// it (the plan loop heard from the server or retried recently), so Metrics does not import Hosting.
/// </summary>
internal interface IAgentLiveness
{
    bool IsAlive(out TimeSpan sinceLastActivity);
}
