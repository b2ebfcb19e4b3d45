using System.Globalization;

namespace NodeAgent.Testing.Etcd;

/// <summary>A real 3-member etcd cluster on loopback, each member with its own ports and data dir.</summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    private readonly TempDir _dir;

    private EtcdCluster(TempDir dir, IReadOnlyList<EtcdServer> members)
    {
        _dir = dir;
        Members = members;
    }

    public IReadOnlyList<EtcdServer> Members { get; }

    /// <summary>All client URLs, comma separated (etcdctl --endpoints).</summary>
    public string Endpoints => string.Join(',', Members.Select(m => m.ClientUrl));

    /// <summary>The --initial-cluster value (name=peerURL,...).</summary>
    public string InitialCluster => string.Join(',', Members.Select(m => $"{m.Name}={m.PeerUrl}"));

    public static async Task<EtcdCluster> StartAsync(int size = 3)
    {
        var dir = new TempDir("nodeagent-etcd-cluster-");
        var ports = Enumerable.Range(0, size).Select(_ => (Client: FreePorts.Next(), Peer: FreePorts.Next())).ToArray();
        var initial = string.Join(',', ports.Select((p, i) => string.Create(CultureInfo.InvariantCulture, $"m{i}=http://127.0.0.1:{p.Peer}")));
        var members = new List<EtcdServer>();
        try
        {
            for (var i = 0; i < size; i++)
            {
                members.Add(EtcdServer.Launch($"m{i}", Path.Combine(dir.Path, $"m{i}"), ports[i].Client, ports[i].Peer, initial, "new", null));
            }
            await Task.WhenAll(members.Select(m => m.WaitReadyAsync()));
            return new EtcdCluster(dir, members);
        }
        catch
        {
            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
            dir.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var member in Members)
        {
            await member.DisposeAsync();
        }
        _dir.Dispose();
    }
}
