namespace NodeAgent.Agent.Config;

/// <summary>The config keys (= long flag names) of <c>node-agent run</c>, with their help text.</summary>
internal static class AgentConfigKeys
{
    public static readonly IReadOnlyList<(string Key, string Help, bool IsList, bool Secret)> All =
    [
        ("server", "Plan server URL (https://HOST:PORT). Required.", false, false),
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
        ("state-dir", "The node's credential and step markers. Default: /var/lib/node-agent.", false, false),
        ("poll-wait", "How long the server may hold a plan request, e.g. 60s. Default: 60s.", false, false),
    ];

    public static string EnvironmentName(string key) => "NODEAGENT_" + key.Replace('-', '_').ToUpperInvariant();
}
