using System.Security.Cryptography;

namespace NodeAgent.Testing.K3s;

/// <summary>
/// N K3s- or RKE2-shaped server nodes on the k3s-standin (tests/NodeAgent.K3sStandIn), each with its own
/// root (<c>etc/rancher/&lt;rt&gt;/config.yaml[.d]</c>, <c>var/lib/rancher/&lt;rt&gt;</c>), bin dir (the
/// <c>k3s</c>/<c>rke2</c> wrapper, <c>&lt;rt&gt;-killall.sh</c>, a service script) and loopback IP 127.A.B.n.
/// Nothing starts until a test says so. Disposing kills every process the nodes' scripts started
/// (found through their pid files, checked to be this node's) and deletes the roots.
/// </summary>
public sealed class K3sStandInCluster : IAsyncDisposable
{
    private readonly TempDir _dir;

    private K3sStandInCluster(TempDir dir, string runtime, string token, IReadOnlyList<K3sStandInNode> nodes)
    {
        _dir = dir;
        Runtime = runtime;
        Token = token;
        Nodes = nodes;
    }

    /// <summary>k3s or rke2.</summary>
    public string Runtime { get; }

    /// <summary>The cluster's token, K3s's full form (K10&lt;hash&gt;::server:&lt;password&gt;).</summary>
    public string Token { get; }

    /// <summary>node-1 … node-N.</summary>
    public IReadOnlyList<K3sStandInNode> Nodes { get; }

    public string Root => _dir.Path;

    /// <summary>The version the nodes' wrappers report unless a test installs another: v1.30.4+k3s1 / v1.30.4+rke2r1.</summary>
    public static string DefaultVersion(string runtime) => runtime == "rke2" ? "v1.30.4+rke2r1" : "v1.30.4+k3s1";

    /// <param name="promotePeriod">How often the etcd leader's stand-in promotes learners (K3s: 15 s).</param>
    public static K3sStandInCluster Create(string runtime, int count, string? version = null, TimeSpan? promotePeriod = null)
    {
        if (runtime is not ("k3s" or "rke2"))
        {
            throw new ArgumentException("runtime must be k3s or rke2", nameof(runtime));
        }
        var dir = new TempDir($"nodeagent-{runtime}-");
        var token = "K10" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) + "::server:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var ips = LoopbackBlock.Reserve(count);
        var nodes = ips.Select((ip, i) => K3sStandInNode.Create(dir.Combine($"node-{i + 1}"), $"node-{i + 1}", runtime, ip,
            version ?? DefaultVersion(runtime), promotePeriod ?? TimeSpan.FromSeconds(2))).ToList();
        return new K3sStandInCluster(dir, runtime, token, nodes);
    }

    /// <summary>
    /// The usual shape: node-1 <c>cluster-init: true</c> (K3s; RKE2 needs no key), every other node
    /// <c>server: &lt;node-1's join URL&gt;</c>; all with the token, node-name and node-ip.
    /// </summary>
    public void WriteStandardConfigs()
    {
        foreach (var node in Nodes)
        {
            var extra = node == Nodes[0]
                ? Runtime == "k3s" ? "cluster-init: true\n" : ""
                : $"server: \"{Nodes[0].JoinUrl}\"\n";
            node.WriteConfig(node.BaseConfig(Token) + extra);
        }
    }

    /// <summary>Starts node-1 and waits until it is ready, then each other node in turn (one learner at a time).</summary>
    public async Task StartInOrderAsync()
    {
        foreach (var node in Nodes)
        {
            await node.StartAsync();
            await node.WaitReadyAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.KillAsync();
        }
        _dir.Dispose();
    }
}
