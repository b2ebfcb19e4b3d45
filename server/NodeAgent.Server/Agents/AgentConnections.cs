using System.Collections.Concurrent;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Metrics;

namespace NodeAgent.Server.Agents;

/// <summary>
/// Which agents hold an open GetPlan call right now (a node may briefly hold two), and when each
/// last called: in memory, so liveness is exact while the stored last-seen is written sparingly.
/// </summary>
internal sealed class AgentConnections(TimeProvider time) : INodePresence, IConnectedAgents
{
    private readonly ConcurrentDictionary<(string Cluster, string Node), int> _open = new();
    private readonly ConcurrentDictionary<(string Cluster, string Node), DateTimeOffset> _lastActive = new();

    public int Count => _open.Count;

    public IDisposable Open(string cluster, string node)
    {
        Seen(cluster, node);
        _open.AddOrUpdate((cluster, node), 1, (_, n) => n + 1);
        return new Lease(this, (cluster, node));
    }

    /// <summary>Connected agents per cluster.</summary>
    public Dictionary<string, int> CountByCluster()
        => _open.Keys.GroupBy(k => k.Cluster, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    public bool IsConnected(string cluster, string node) => _open.ContainsKey((cluster, node));

    public DateTimeOffset? LastActive(string cluster, string node) => _lastActive.TryGetValue((cluster, node), out var at) ? at : null;

    /// <summary>Records a call of the agent (a poll starting or ending, a report).</summary>
    public void Seen(string cluster, string node) => _lastActive[(cluster, node)] = time.GetUtcNow();

    private void Close((string Cluster, string Node) key)
    {
        Seen(key.Cluster, key.Node);
        while (_open.TryGetValue(key, out var n))
        {
            if (n <= 1 ? _open.TryRemove(new KeyValuePair<(string, string), int>(key, n)) : _open.TryUpdate(key, n - 1, n))
            {
                return;
            }
        }
    }

    private sealed class Lease(AgentConnections owner, (string Cluster, string Node) key) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Close(key);
            }
        }
    }
}
