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

    /// <summary>server: the plan server's URLs, in the order the agent tries them (one, or a standby and replicas).</summary>
    public IReadOnlyList<Uri> Servers { get; set; } = [];

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

    /// <summary>runtime: k3s, rke2 or etcd (default k3s); parsed once by the config loader (see <see cref="RuntimeNaming"/>).</summary>
    public Contracts.V1.Runtime Runtime { get; set; } = Contracts.V1.Runtime.K3S;

    /// <summary>data-dir: default /var/lib/rancher/&lt;runtime&gt;.</summary>
    public string DataDir { get; set; } = "";

    /// <summary>etcd-endpoints: default https://127.0.0.1:2379 (K3s/RKE2).</summary>
    public IReadOnlyList<string> EtcdEndpoints { get; set; } = ["https://127.0.0.1:2379"];

    /// <summary>etcd-cacert / etcd-cert / etcd-key: default under &lt;data-dir&gt;/server/tls/etcd/.</summary>
    public string EtcdCaCert { get; set; } = "";

    public string EtcdCert { get; set; } = "";

    public string EtcdKey { get; set; } = "";

    /// <summary>etcd-snapshot-stall-timeout: a snapshot stream silent this long fails. Default 30s.</summary>
    public TimeSpan EtcdSnapshotStallTimeout { get; set; } = Etcd.EtcdConnectionOptions.DefaultSnapshotStallTimeout;

    /// <summary>state-dir: the node's credential, applied plans and step markers. Default /var/lib/node-agent.</summary>
    public string StateDir { get; set; } = "/var/lib/node-agent";

    /// <summary>poll-wait: how long the server may hold a GetPlan call. Default 60s.</summary>
    public TimeSpan PollWait { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>metrics-listen: where to serve /metrics and /healthz; null (the default) serves nothing.</summary>
    public System.Net.IPEndPoint? MetricsListen { get; set; }

    /// <summary>killall-script (k3s/rke2): default /usr/local/bin/&lt;runtime&gt;-killall.sh.</summary>
    public string KillallScript { get; set; } = "";

    /// <summary>runtime-binary (k3s/rke2): default /usr/local/bin/&lt;runtime&gt;.</summary>
    public string RuntimeBinary { get; set; } = "";

    /// <summary>Keys the config gave that the agent accepts and ignores (deprecated), each with why; <see cref="AgentConfigWarnings"/> logs them at start.</summary>
    public IReadOnlyList<(string Key, string Reason)> IgnoredKeys { get; set; } = [];

    /// <summary>service-start-command (k3s/rke2): default systemctl start <see cref="ServiceUnit"/>.</summary>

    public string ServiceStartCommand { get; set; } = "";

    /// <summary>service-restart-command (k3s/rke2): default systemctl restart <see cref="ServiceUnit"/>.</summary>
    public string ServiceRestartCommand { get; set; } = "";

    /// <summary>runtime-config (k3s/rke2): the runtime's own config file (drop-ins in &lt;file&gt;.d/). Default /etc/rancher/&lt;runtime&gt;/config.yaml.</summary>
    public string RuntimeConfig { get; set; } = "";

    /// <summary>runtime-versions-dir (k3s/rke2): air gap, &lt;dir&gt;/&lt;version&gt;/&lt;runtime&gt; is that version's binary; empty: the install command.</summary>
    public string RuntimeVersionsDir { get; set; } = "";

    /// <summary>runtime-install-command (k3s/rke2): shell command installing INSTALL_&lt;RT&gt;_VERSION; default: the distribution's install script.</summary>
    public string RuntimeInstallCommand { get; set; } = "";

    /// <summary>runtime-version-check-command (k3s/rke2): shell command that succeeds when INSTALL_&lt;RT&gt;_VERSION can be had; default: a HEAD of the release.</summary>
    public string RuntimeVersionCheckCommand { get; set; } = "";

    /// <summary>etcd-stop-command / etcd-start-command (etcd): shell commands; no default.</summary>
    public string EtcdStopCommand { get; set; } = "";

    public string EtcdStartCommand { get; set; } = "";

    /// <summary>etcd-data-dir (etcd): the local member's data dir; no default.</summary>
    public string EtcdDataDir { get; set; } = "";

    /// <summary>etcd-name (etcd): default the node name.</summary>
    public string EtcdName { get; set; } = "";

    /// <summary>etcd-initial-cluster (etcd): name=peerURL,... of every member.</summary>
    public string EtcdInitialCluster { get; set; } = "";

    /// <summary>etcd-initial-advertise-peer-urls (etcd): default this member's URLs in etcd-initial-cluster.</summary>
    public IReadOnlyList<string> EtcdInitialAdvertisePeerUrls { get; set; } = [];

    /// <summary>etcdctl (etcd): default /usr/bin/etcdctl.</summary>
    public string Etcdctl { get; set; } = "/usr/bin/etcdctl";

    public string EffectiveKillallScript => KillallScript.Length > 0 ? KillallScript : RuntimeNaming.DefaultKillallScript(Runtime);

    public string EffectiveRuntimeBinary => RuntimeBinary.Length > 0 ? RuntimeBinary : RuntimeNaming.DefaultBinary(Runtime);

    /// <summary>The runtime's systemd unit as its installer names it (<see cref="RuntimeNaming.ServiceUnit"/>): an etcd or control-plane node is a server.</summary>
    public string ServiceUnit => RuntimeNaming.ServiceUnit(Runtime, server: Roles.Contains("etcd") || Roles.Contains("control-plane"));

    public string EffectiveServiceStartCommand => ServiceStartCommand.Length > 0 ? ServiceStartCommand : $"systemctl start {ServiceUnit}";

    public string EffectiveServiceRestartCommand => ServiceRestartCommand.Length > 0 ? ServiceRestartCommand : $"systemctl restart {ServiceUnit}";

    public string EffectiveRuntimeConfig => RuntimeConfig.Length > 0 ? RuntimeConfig : RuntimeNaming.DefaultConfigFile(Runtime);

    public string EffectiveEtcdName => EtcdName.Length > 0 ? EtcdName : NodeName;

    public string EffectiveDataDir => DataDir.Length > 0 ? DataDir : RuntimeNaming.DefaultDataDir(Runtime);

    /// <summary>How to reach the local etcd member (the endpoints are checked when the config is loaded).</summary>
    public Etcd.EtcdConnectionOptions EtcdConnection()
        => Etcd.EtcdConnectionOptions.Resolve(EffectiveDataDir, string.Join(',', EtcdEndpoints), EtcdCaCert, EtcdCert, EtcdKey)
            with { SnapshotStallTimeout = EtcdSnapshotStallTimeout };
}
