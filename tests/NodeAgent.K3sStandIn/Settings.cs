using System.Globalization;
using NodeAgent.Agent.Runtime;

namespace NodeAgent.K3sStandIn;

/// <summary>What the per-node wrapper script bakes in: runtime, version, the node's root, the promote period.</summary>
internal sealed record WrapperSettings(string Runtime, string Version, string NodeRoot, TimeSpan PromotePeriod)
{
    public const string EtcdBinary = "/usr/bin/etcd";

    public const string EtcdctlBinary = "/usr/bin/etcdctl";

    /// <summary>Takes the leading <c>--standin-*</c> flags; returns the rest (the runtime's own arguments).</summary>
    public static (WrapperSettings Settings, string[] Arguments) Parse(string[] args)
    {
        string? runtime = null, version = null, root = null;
        var promote = TimeSpan.FromSeconds(15);
        var i = 0;
        for (; i + 1 < args.Length && args[i].StartsWith("--standin-", StringComparison.Ordinal); i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--standin-runtime":
                    runtime = value is "k3s" or "rke2" ? value : throw new StandInException($"--standin-runtime must be k3s or rke2, not '{value}'");
                    break;
                case "--standin-version":
                    version = value;
                    break;
                case "--standin-node-root":
                    root = value;
                    break;
                case "--standin-promote-period":
                    promote = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture));
                    break;
                default:
                    throw new StandInException($"unknown wrapper flag {args[i]}");
            }
        }
        if (runtime is null || version is null || root is null)
        {
            throw new StandInException("the wrapper must pass --standin-runtime, --standin-version and --standin-node-root");
        }
        return (new WrapperSettings(runtime, version, root, promote), args[i..]);
    }
}

/// <summary>
/// The server's settings as K3s resolves them: the merged config file (base + sorted drop-ins) turned
/// into flags placed before the real CLI arguments, so the CLI wins for scalars and appends to lists.
/// </summary>
internal sealed class ServerSettings
{
    private static readonly HashSet<string> BooleanFlags = new(StringComparer.Ordinal)
    {
        "cluster-reset", "cluster-init", "etcd-s3", "etcd-disable-snapshots", "disable-etcd", "disable-apiserver",
    };

    private static readonly HashSet<string> ListFlags = new(StringComparer.Ordinal)
    {
        "etcd-arg", "node-ip", "node-label", "node-taint", "tls-san", "kube-apiserver-arg", "disable",
    };

    public required WrapperSettings Wrapper { get; init; }

    public required string ConfigPath { get; init; }

    public required string DataDir { get; init; }

    public required string NodeName { get; init; }

    public required string NodeIp { get; init; }

    /// <summary>The join URL; empty = none (also when a drop-in sets <c>server: ""</c>).</summary>
    public required string ServerUrl { get; init; }

    public required string Token { get; init; }

    public required bool ClusterInit { get; init; }

    public required bool ClusterReset { get; init; }

    public required string RestorePath { get; init; }

    public required IReadOnlyList<string> EtcdArgs { get; init; }

    public string Runtime => Wrapper.Runtime;

    public string ServerDir => Path.Combine(DataDir, "server");

    public string DbDir => Path.Combine(ServerDir, "db");

    public string EtcdDir => Path.Combine(DbDir, "etcd");

    public string TlsDir => Path.Combine(ServerDir, "tls");

    public string CaFile => Path.Combine(TlsDir, "server-ca.crt");

    public string RunDir => Path.Combine(Wrapper.NodeRoot, "run");

    public string PeerUrl => $"http://{UrlHost(NodeIp)}:2380";

    public string ClientUrl => $"http://{UrlHost(NodeIp)}:2379";

    public static string UrlHost(string ip) => ip.Contains(':', StringComparison.Ordinal) ? $"[{ip}]" : ip;

    public static ServerSettings Resolve(WrapperSettings wrapper, string[] cli, StandInLog log)
    {
        var cliValues = ParseCli(cli);
        var prefix = wrapper.Runtime.ToUpperInvariant() + "_";
        var configPath = Last(cliValues, "config") ?? Environment.GetEnvironmentVariable(prefix + "CONFIG_FILE")
            ?? Path.Combine(wrapper.NodeRoot, "etc", "rancher", wrapper.Runtime, "config.yaml");
        var config = RuntimeConfigFiles.Read(configPath);
        var merged = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (key, values) in config.Values)
        {
            merged[key] = [.. values];
        }
        foreach (var (key, values) in cliValues)
        {
            merged[key] = ListFlags.Contains(key) && merged.TryGetValue(key, out var before) ? [.. before, .. values] : values;
        }
        string? Scalar(string key) => merged.TryGetValue(key, out var v) && v.Count > 0 ? v[^1] : null;
        bool Flag(string key) => Scalar(key)?.Trim().ToLowerInvariant() is "true" or "yes" or "on" or "1";

        var dataDir = Scalar("data-dir") ?? Environment.GetEnvironmentVariable(prefix + "DATA_DIR")
            ?? Path.Combine(wrapper.NodeRoot, "var", "lib", "rancher", wrapper.Runtime);
        var serverDir = Path.Combine(dataDir, "server");
        var token = Scalar("token") ?? Environment.GetEnvironmentVariable(prefix + "TOKEN") ?? "";
        var tokenFile = Path.Combine(serverDir, "token");
        if (token.Length == 0 && File.Exists(tokenFile))
        {
            token = File.ReadAllText(tokenFile).Trim();
        }
        var nodeIp = Scalar("advertise-address") ?? (merged.TryGetValue("node-ip", out var ips) && ips.Count > 0 ? ips[0].Split(',')[0] : "127.0.0.1");
        var reset = Flag("cluster-reset");
        var restore = Scalar("cluster-reset-restore-path") ?? "";
        var server = Scalar("server") ?? Environment.GetEnvironmentVariable(prefix + "URL") ?? "";
        if (restore.Length > 0 && !reset)
        {
            throw new StandInException("invalid flag use; --cluster-reset required with --cluster-reset-restore-path");
        }
        if (reset && server.Length > 0)
        {
            throw new StandInException("cannot perform cluster-reset while server URL is set - remove server from configuration before resetting");
        }
        if (reset && restore.Length > 0 && token.Length == 0)
        {
            throw new StandInException($"{tokenFile} does not exist, please pass --token to complete the restoration");
        }
        foreach (var file in config.Files)
        {
            log.Info($"Read config file {file.Path}");
        }
        return new ServerSettings
        {
            Wrapper = wrapper,
            ConfigPath = configPath,
            DataDir = dataDir,
            NodeName = (Scalar("node-name") ?? Environment.MachineName).ToLowerInvariant(),
            NodeIp = nodeIp,
            ServerUrl = server,
            Token = token,
            ClusterInit = Flag("cluster-init") || reset || wrapper.Runtime == "rke2",
            ClusterReset = reset,
            RestorePath = restore,
            EtcdArgs = merged.TryGetValue("etcd-arg", out var etcdArgs) ? etcdArgs : [],
        };
    }

    private static string? Last(Dictionary<string, List<string>> values, string key) => values.TryGetValue(key, out var v) && v.Count > 0 ? v[^1] : null;

    /// <summary>urfave/cli's forms: --key=value, --key value, -c value, and bare booleans.</summary>
    private static Dictionary<string, List<string>> ParseCli(string[] cli)
    {
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < cli.Length; i++)
        {
            var arg = cli[i];
            if (!arg.StartsWith('-'))
            {
                throw new StandInException($"unexpected argument '{arg}'");
            }
            var name = arg.TrimStart('-');
            string value;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            else if (BooleanFlags.Contains(name))
            {
                value = "true";
            }
            else if (i + 1 < cli.Length)
            {
                value = cli[++i];
            }
            else
            {
                throw new StandInException($"flag needs an argument: {arg}");
            }
            name = name switch { "c" => "config", "d" => "data-dir", "t" => "token", "s" => "server", _ => name };
            if (!values.TryGetValue(name, out var list))
            {
                values[name] = list = [];
            }
            list.Add(value);
        }
        return values;
    }
}
