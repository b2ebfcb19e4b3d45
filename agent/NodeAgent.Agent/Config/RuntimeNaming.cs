namespace NodeAgent.Agent.Config;

/// <summary>
/// The node's runtime (the contract's <see cref="Contracts.V1.Runtime"/>) as K3s, RKE2 and their tools spell it: the
/// name a config file, a flag, a sidecar or an S3 object carries, and the paths and names an install of it uses. Text
/// is parsed once, at the edge (the config loader, the CLI's flags); inside the agent the runtime is the enum. It lives
/// in Config, the bottom of the agent, so the options and every feature above them can use it without a cycle.
/// </summary>
internal static class RuntimeNaming
{
    /// <summary>The names a config or flag may give, in the order a bad value's message lists them.</summary>
    public static readonly string[] Names = ["k3s", "rke2", "etcd"];

    /// <summary>k3s, rke2 or etcd as the enum; false for any other text (case matters, as in K3s's own config).</summary>
    public static bool TryParse(string? name, out Contracts.V1.Runtime runtime)
    {
        runtime = name is null ? Contracts.V1.Runtime.Unspecified : Contracts.V1.RuntimeNames.Parse(name);
        return runtime != Contracts.V1.Runtime.Unspecified;
    }

    /// <summary>k3s, rke2 or etcd.</summary>
    public static string NameOf(Contracts.V1.Runtime runtime)
        => Contracts.V1.RuntimeNames.Name(runtime) ?? throw new ArgumentOutOfRangeException(nameof(runtime), runtime, "not a runtime");

    /// <summary>k3s, rke2 or etcd; empty for <see cref="Contracts.V1.Runtime.Unspecified"/> (a save request that names no runtime records none).</summary>
    public static string NameOrEmpty(Contracts.V1.Runtime runtime) => Contracts.V1.RuntimeNames.Name(runtime) ?? "";

    /// <summary>K3s or RKE2: a distribution with its own binary, killall script, service, config file and data dir.</summary>
    public static bool IsDistribution(Contracts.V1.Runtime runtime) => runtime is Contracts.V1.Runtime.K3S or Contracts.V1.Runtime.Rke2;

    /// <summary>/var/lib/rancher/&lt;runtime&gt;.</summary>
    public static string DefaultDataDir(Contracts.V1.Runtime runtime) => $"/var/lib/rancher/{NameOf(runtime)}";

    /// <summary>/usr/local/bin/&lt;runtime&gt;.</summary>
    public static string DefaultBinary(Contracts.V1.Runtime runtime) => $"/usr/local/bin/{NameOf(runtime)}";

    /// <summary>/usr/local/bin/&lt;runtime&gt;-killall.sh.</summary>
    public static string DefaultKillallScript(Contracts.V1.Runtime runtime) => $"/usr/local/bin/{NameOf(runtime)}-killall.sh";

    /// <summary>/etc/rancher/&lt;runtime&gt;/config.yaml.</summary>
    public static string DefaultConfigFile(Contracts.V1.Runtime runtime) => $"/etc/rancher/{NameOf(runtime)}/config.yaml";

    /// <summary>K3S or RKE2: the prefix of the runtime's own variables (K3S_DATA_DIR, INSTALL_RKE2_VERSION, ...).</summary>
    public static string VariablePrefix(Contracts.V1.Runtime runtime) => NameOf(runtime).ToUpperInvariant();

    /// <summary>The runtime's systemd unit as its installer names it: a server (etcd or control-plane role) runs k3s / rke2-server, a worker k3s-agent / rke2-agent.</summary>
    public static string ServiceUnit(Contracts.V1.Runtime runtime, bool server) => (runtime, server) switch
    {
        (Contracts.V1.Runtime.Rke2, true) => "rke2-server",
        (Contracts.V1.Runtime.Rke2, false) => "rke2-agent",
        (_, true) => "k3s",
        (_, false) => "k3s-agent",
    };
}
