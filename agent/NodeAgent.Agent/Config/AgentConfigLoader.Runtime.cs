namespace NodeAgent.Agent.Config;

/// <summary>The runtime driver's keys: k3s/rke2 commands and paths, or the plain etcd member's.</summary>
internal static partial class AgentConfigLoader
{
    private static readonly string[] DistributionKeys = ["killall-script", "runtime-binary", "service-stop-command", "service-start-command", "service-restart-command", "runtime-config",
        "runtime-versions-dir", "runtime-install-command", "runtime-version-check-command"];
    private static readonly string[] EtcdKeys =
        ["etcd-stop-command", "etcd-start-command", "etcd-data-dir", "etcd-name", "etcd-initial-cluster", "etcd-initial-advertise-peer-urls", "etcdctl"];

    /// <summary>What a restore of a plain etcd member needs; given one, the others must be given too (and the member's peer URLs).</summary>
    private static readonly string[] EtcdRestoreKeys = ["etcd-stop-command", "etcd-start-command", "etcd-data-dir"];

    private static void LoadRuntime(Dictionary<string, IReadOnlyList<string>> values, AgentOptions options)
    {
        string? One(string key) => values.TryGetValue(key, out var v) && v.Count > 0 ? v[0] : null;
        var etcd = options.Runtime == Contracts.V1.Runtime.Etcd;
        foreach (var key in etcd ? DistributionKeys : EtcdKeys)
        {
            if (values.ContainsKey(key))
            {
                throw new ConfigException($"{key} applies to runtime {(etcd ? "k3s or rke2" : "etcd")} only; this node's runtime is {RuntimeNaming.NameOf(options.Runtime)}");
            }
        }
        options.KillallScript = AbsolutePath(One("killall-script"), "killall-script");
        options.RuntimeBinary = AbsolutePath(One("runtime-binary"), "runtime-binary");
        // Deprecated: still checked and accepted (an old config starts), then ignored with a warning at start.
        if (Command(One("service-stop-command"), "service-stop-command").Length > 0)
        {
            options.IgnoredKeys = [.. options.IgnoredKeys, ("service-stop-command", AgentConfigWarnings.ServiceStopCommandIgnored)];
        }
        options.ServiceStartCommand = Command(One("service-start-command"), "service-start-command");
        options.ServiceRestartCommand = Command(One("service-restart-command"), "service-restart-command");
        options.RuntimeConfig = AbsolutePath(One("runtime-config"), "runtime-config");
        options.RuntimeVersionsDir = AbsolutePath(One("runtime-versions-dir"), "runtime-versions-dir");
        options.RuntimeInstallCommand = Command(One("runtime-install-command"), "runtime-install-command");
        options.RuntimeVersionCheckCommand = Command(One("runtime-version-check-command"), "runtime-version-check-command");
        options.EtcdStopCommand = Command(One("etcd-stop-command"), "etcd-stop-command");
        options.EtcdStartCommand = Command(One("etcd-start-command"), "etcd-start-command");
        options.EtcdDataDir = AbsolutePath(One("etcd-data-dir"), "etcd-data-dir");
        if (options.EtcdDataDir is "/")
        {
            throw new ConfigException("etcd-data-dir must not be /: it is moved aside during a restore");
        }
        options.Etcdctl = One("etcdctl") is { } etcdctl ? AbsolutePath(etcdctl, "etcdctl") : options.Etcdctl;
        options.EtcdName = One("etcd-name") ?? "";
        if (options.EtcdName.Length > 0 && (options.EtcdName.Contains('=', StringComparison.Ordinal) || options.EtcdName.Contains(',', StringComparison.Ordinal)))
        {
            throw new ConfigException($"etcd-name '{options.EtcdName}' must not contain '=' or ','");
        }
        if (!etcd)
        {
            return;
        }
        var given = EtcdRestoreKeys.Where(values.ContainsKey).ToArray();
        if (given.Length > 0 && given.Length < EtcdRestoreKeys.Length)
        {
            var missing = EtcdRestoreKeys.Except(given);
            throw new ConfigException(
                $"runtime etcd: {string.Join(", ", missing)} must be set along with {string.Join(", ", given)} (the agent stops, restores and starts the member with them)");
        }
        options.EtcdInitialCluster = One("etcd-initial-cluster") ?? "";
        var members = options.EtcdInitialCluster.Length > 0 ? EtcdInitialCluster.Parse(options.EtcdInitialCluster) : null;
        var own = members?.Where(m => m.Name == options.EffectiveEtcdName).Select(m => m.PeerUrl).ToArray();
        if (members is not null && own!.Length == 0)
        {
            throw new ConfigException(
                $"etcd-name '{options.EffectiveEtcdName}' is not a member of etcd-initial-cluster (members: {string.Join(", ", members.Select(m => m.Name).Distinct())}); set etcd-name");
        }
        if (values.TryGetValue("etcd-initial-advertise-peer-urls", out var advertised) && advertised.Count > 0)
        {
            var urls = advertised.Select(u => EtcdInitialCluster.ParsePeerUrl(u, "etcd-initial-advertise-peer-urls")).ToArray();
            if (own is not null && !urls.Order(StringComparer.Ordinal).SequenceEqual(own.Order(StringComparer.Ordinal)))
            {
                throw new ConfigException(
                    $"etcd-initial-advertise-peer-urls ({string.Join(",", urls)}) differ from {options.EffectiveEtcdName}'s URLs in etcd-initial-cluster ({string.Join(",", own)}); etcdctl snapshot restore would refuse them");
            }
            options.EtcdInitialAdvertisePeerUrls = urls;
        }
        else if (own is not null)
        {
            options.EtcdInitialAdvertisePeerUrls = own;
        }
        if (given.Length > 0 && options.EtcdInitialAdvertisePeerUrls.Count == 0)
        {
            throw new ConfigException(
                "runtime etcd: set etcd-initial-advertise-peer-urls (or etcd-initial-cluster): a restore makes the new cluster of the restoring members' peer URLs");
        }
    }

    private static string AbsolutePath(string? value, string key)
    {
        if (value is null)
        {
            return "";
        }
        if (!Path.IsPathFullyQualified(value))
        {
            throw new ConfigException($"{key} '{value}' must be an absolute path");
        }
        return Path.TrimEndingDirectorySeparator(value) is { Length: > 0 } trimmed ? trimmed : "/";
    }

    private static string Command(string? value, string key)
    {
        if (value is null)
        {
            return "";
        }
        return string.IsNullOrWhiteSpace(value) ? throw new ConfigException($"{key} must not be empty") : value.Trim();
    }
}

/// <summary>One member of etcd's <c>--initial-cluster</c> (a member with several peer URLs appears once per URL).</summary>
internal sealed record EtcdInitialCluster(string Name, string PeerUrl)
{
    /// <exception cref="ConfigException">An entry that is not name=peerURL, named.</exception>
    public static IReadOnlyList<EtcdInitialCluster> Parse(string text)
    {
        var members = new List<EtcdInitialCluster>();
        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == entry.Length - 1)
            {
                throw new ConfigException($"etcd-initial-cluster entry '{entry}' is not name=peerURL (e.g. node1=https://10.0.0.1:2380)");
            }
            members.Add(new EtcdInitialCluster(entry[..eq], ParsePeerUrl(entry[(eq + 1)..], "etcd-initial-cluster")));
        }
        return members.Count > 0 ? members : throw new ConfigException("etcd-initial-cluster names no member");
    }

    public static string ParsePeerUrl(string text, string key)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.IsDefaultPort
            || uri.AbsolutePath != "/" || uri.Query.Length > 0)
        {
            throw new ConfigException($"{key}: '{text}' is not a peer URL of the form http(s)://host:port");
        }
        return text.TrimEnd('/');
    }
}
