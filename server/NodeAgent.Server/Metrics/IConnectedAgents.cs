namespace NodeAgent.Server.Metrics;

/// <summary>How many agents hold an open plan long-poll now, per cluster (what the connected-agents gauge shows).</summary>
internal interface IConnectedAgents
{
    Dictionary<string, int> CountByCluster();
}
