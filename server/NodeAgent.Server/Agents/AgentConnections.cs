using System.Collections.Concurrent;

namespace NodeAgent.Server.Agents;

/// <summary>Which agents hold an open GetPlan call right now (a node may briefly hold two).</summary>
internal sealed class AgentConnections
{
    private readonly ConcurrentDictionary<(string Cluster, string Node), int> _open = new();

    public int Count => _open.Count;

    public IDisposable Open(string cluster, string node)
    {
        _open.AddOrUpdate((cluster, node), 1, (_, n) => n + 1);
        return new Lease(this, (cluster, node));
    }

    /// <summary>Connected agents per cluster.</summary>
    public Dictionary<string, int> CountByCluster()
        => _open.Keys.GroupBy(k => k.Cluster, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    public bool IsConnected(string cluster, string node) => _open.ContainsKey((cluster, node));

    private void Close((string, string) key)
    {
        while (_open.TryGetValue(key, out var n))
        {
            if (n <= 1 ? _open.TryRemove(new KeyValuePair<(string, string), int>(key, n)) : _open.TryUpdate(key, n - 1, n))
            {
                return;
            }
        }
    }

    private sealed class Lease(AgentConnections owner, (string, string) key) : IDisposable
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
