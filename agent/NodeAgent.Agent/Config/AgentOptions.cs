namespace NodeAgent.Agent.Config;

/// <summary>
/// Settings of <c>node-agent run</c>. Each key of the config file is the long name of a flag
/// (K3s's convention: flag <c>--node-name</c> is key <c>node-name</c>); flags override the file,
/// and <c>NODEAGENT_&lt;KEY&gt;</c> environment variables (e.g. NODEAGENT_NODE_NAME) override both
/// for what they set. The bootstrap token has no flag: a secret on the command line is visible
/// to every user of the host.
/// </summary>
internal sealed class AgentOptions
{
    public const string DefaultConfigPath = "/etc/node-agent/config.yaml";

    /// <summary>server: the plan server's URL, e.g. https://plan-server.example:9180.</summary>
    public Uri? Server { get; set; }

    /// <summary>server-ca: PEM file of the CA the plan server's certificate must chain to (pinned; no system roots).</summary>
    public string ServerCa { get; set; } = "";

    /// <summary>token: the cluster's bootstrap token, needed only until the node has its own credential.</summary>
    public string Token { get; set; } = "";

    /// <summary>cluster: the cluster this node belongs to.</summary>
    public string Cluster { get; set; } = "";

    /// <summary>node-name: default the host name.</summary>
    public string NodeName { get; set; } = "";

    /// <summary>roles: etcd, control-plane, worker (default etcd).</summary>
    public IReadOnlyList<string> Roles { get; set; } = ["etcd"];

    /// <summary>runtime: k3s, rke2 or etcd (default k3s).</summary>
    public string Runtime { get; set; } = "k3s";

    /// <summary>data-dir: default /var/lib/rancher/&lt;runtime&gt;.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>etcd-endpoints: default https://127.0.0.1:2379 (K3s/RKE2).</summary>
    public IReadOnlyList<string> EtcdEndpoints { get; set; } = ["https://127.0.0.1:2379"];

    /// <summary>etcd-cacert / etcd-cert / etcd-key: default under &lt;data-dir&gt;/server/tls/etcd/.</summary>
    public string EtcdCaCert { get; set; } = "";

    public string EtcdCert { get; set; } = "";

    public string EtcdKey { get; set; } = "";

    /// <summary>state-dir: the node's credential, applied plans and step markers. Default /var/lib/node-agent.</summary>
    public string StateDir { get; set; } = "/var/lib/node-agent";

    /// <summary>poll-wait: how long the server may hold a GetPlan call. Default 60s.</summary>
    public TimeSpan PollWait { get; set; } = TimeSpan.FromSeconds(60);

    public string EffectiveDataDir => DataDir.Length > 0 ? DataDir : $"/var/lib/rancher/{Runtime}";

    /// <summary>How to reach the local etcd member (the endpoints are checked when the config is loaded).</summary>
    public Etcd.EtcdConnectionOptions EtcdConnection()
        => Etcd.EtcdConnectionOptions.Resolve(EffectiveDataDir, string.Join(',', EtcdEndpoints), EtcdCaCert, EtcdCert, EtcdKey);
}
