namespace NodeAgent.Agent.Config;

/// <summary>The config keys (= long flag names) of <c>node-agent run</c>, with their help text.</summary>
internal static class AgentConfigKeys
{
    public static readonly IReadOnlyList<(string Key, string Help, bool IsList, bool Secret)> All =
    [
        ("server", "Plan server URL (https://HOST:PORT), or several (a list, or comma-separated): the agent uses one and moves to the next when it stops answering, keeping its credential. Required.", true, false),
        ("server-ca", "PEM file of the plan server's CA (pinned). Default: the system roots.", false, false),
        ("token", "The cluster's bootstrap token (config file or NODEAGENT_TOKEN only; no flag).", false, true),
        ("cluster", "The cluster this node belongs to. Required.", false, false),
        ("node-name", "This node's name. Default: the host name.", false, false),
        ("roles", "Roles of this node: etcd, control-plane, worker. Default: etcd.", true, false),
        ("runtime", "k3s, rke2 or etcd. Default: k3s.", false, false),
        ("data-dir", "The runtime's data dir. Default: /var/lib/rancher/<runtime>.", false, false),
        ("etcd-endpoints", "etcd client URLs. Default: https://127.0.0.1:2379.", true, false),
        ("etcd-cacert", "etcd client CA. Default: <data-dir>/server/tls/etcd/server-ca.crt.", false, false),
        ("etcd-cert", "etcd client certificate. Default: <data-dir>/server/tls/etcd/client.crt.", false, false),
        ("etcd-key", "etcd client key. Default: <data-dir>/server/tls/etcd/client.key.", false, false),
        ("etcd-snapshot-stall-timeout", "A save fails when etcd's snapshot stream sends nothing this long (a frozen member), e.g. 30s. Default: 30s.", false, false),
        ("state-dir", "The node's credential and step markers. Default: /var/lib/node-agent.", false, false),
        ("poll-wait", "How long the server may hold a plan request, e.g. 60s. Default: 60s.", false, false),
        ("metrics-listen", "Serve Prometheus /metrics and /healthz on this IP:PORT (plain HTTP, no authentication), e.g. 127.0.0.1:9182. Default: off.", false, false),
        ("killall-script", "k3s/rke2: the killall script. Default: /usr/local/bin/<runtime>-killall.sh.", false, false),
        ("runtime-binary", "k3s/rke2: the runtime's binary (runs the cluster-reset restore). Default: /usr/local/bin/<runtime>.", false, false),
        ("service-stop-command", "Deprecated and ignored (nothing stops the runtime by its service; a restore runs killall-script): accepted so old configs start, with a warning at start.", false, false),
        ("service-start-command", "k3s/rke2: shell command that starts the runtime. Default: systemctl start k3s | rke2-server (k3s-agent | rke2-agent on a worker).", false, false),
        ("service-restart-command", "k3s/rke2: shell command that restarts the runtime. Default: systemctl restart k3s | rke2-server (k3s-agent | rke2-agent on a worker).", false, false),
        ("runtime-config", "k3s/rke2: the runtime's own config file; its drop-ins are <file>.d/*.yaml. Default: /etc/rancher/<runtime>/config.yaml.", false, false),
        ("runtime-versions-dir", "k3s/rke2, restore modes kubernetesVersion/all: air gap, <dir>/<version>/<runtime> is that version's binary (then no download). Default: none.", false, false),
        ("runtime-install-command", "k3s/rke2: shell command that installs INSTALL_<RT>_VERSION (skip start/enable set). Default: the distribution's install script (get.k3s.io / get.rke2.io).", false, false),
        ("runtime-version-check-command", "k3s/rke2: shell command that succeeds when INSTALL_<RT>_VERSION can be installed. Default: a HEAD of the release's sha256sum-<arch>.txt on GitHub.", false, false),
        ("etcd-stop-command", "etcd: shell command (/bin/sh -c) that stops the local etcd member and returns once it is down.", false, false),
        ("etcd-start-command", "etcd: shell command (/bin/sh -c) that starts the local etcd member.", false, false),
        ("etcd-data-dir", "etcd: the local member's data dir (restored into, moved aside as <dir>.old-<unix>).", false, false),
        ("etcd-name", "etcd: the local member's name. Default: node-name.", false, false),
        ("etcd-initial-cluster", "etcd: every member as name=peerURL,...; optional: a restore uses the members the plan server builds from the restoring nodes' own etcd-name and peer URLs, and this only for a plan that names none.", false, false),
        ("etcd-initial-advertise-peer-urls", "etcd: this member's peer URLs, sent to the plan server at registration. Default: its entries in etcd-initial-cluster.", true, false),
        ("etcdctl", "etcd: the etcdctl binary (v3 API) that restores snapshots. Default: /usr/bin/etcdctl.", false, false),
    ];

    public static string EnvironmentName(string key) => "NODEAGENT_" + key.Replace('-', '_').ToUpperInvariant();
}
