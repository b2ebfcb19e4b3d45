using System.Net;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace NodeAgent.Agent.Config;

/// <summary>
/// Reads <c>node-agent run</c>'s settings: the config file (0600, flat keys = long flag names),
/// then NODEAGENT_* environment variables, then flags; validates them; fills the defaults.
/// </summary>
internal static partial class AgentConfigLoader
{
    private static readonly string[] RoleNames = ["etcd", "control-plane", "worker"];

    /// <param name="flags">Values given as flags, by key; absent keys were not given.</param>
    /// <param name="environment">The process environment (only NODEAGENT_* keys are read).</param>
    public static AgentOptions Load(string? configPath, IReadOnlyDictionary<string, string> flags, IReadOnlyDictionary<string, string> environment)
    {
        var values = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var path = configPath ?? AgentOptions.DefaultConfigPath;
        if (File.Exists(path))
        {
            foreach (var (key, value) in ReadFile(path))
            {
                values[key] = value;
            }
        }
        else if (configPath is not null)
        {
            throw new ConfigException($"config file {path} does not exist");
        }
        foreach (var (key, _, isList, _) in AgentConfigKeys.All)
        {
            if (environment.TryGetValue(AgentConfigKeys.EnvironmentName(key), out var env) && env.Length > 0)
            {
                values[key] = isList ? SplitList(env) : [env];
            }
            if (flags.TryGetValue(key, out var flag))
            {
                values[key] = isList ? SplitList(flag) : [flag];
            }
        }
        return Build(values);
    }

    private static Dictionary<string, IReadOnlyList<string>> ReadFile(string path)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            throw new ConfigException($"config file {path} is readable or writable by group or others (it may hold the bootstrap token): chmod 0600 {path}");
        }
        var yaml = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            yaml.Load(reader);
        }
        catch (YamlException ex)
        {
            throw new ConfigException($"config file {path} is not valid YAML at line {ex.Start.Line}: {ex.Message}");
        }
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        if (yaml.Documents.Count == 0)
        {
            return result;
        }
        if (yaml.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigException($"config file {path} must be a mapping of keys to values");
        }
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            var known = AgentConfigKeys.All.FirstOrDefault(k => k.Key == key);
            if (known.Key is null)
            {
                throw new ConfigException($"config file {path}: unknown key '{key}' (known keys: {string.Join(", ", AgentConfigKeys.All.Select(k => k.Key))})");
            }
            result[key] = valueNode switch
            {
                YamlScalarNode scalar => known.IsList ? SplitList(scalar.Value ?? "") : [scalar.Value ?? ""],
                YamlSequenceNode sequence when known.IsList => sequence.Children.Select(c => ((YamlScalarNode)c).Value ?? "").ToArray(),
                _ => throw new ConfigException($"config file {path}: key '{key}' must be a {(known.IsList ? "list or a comma-separated string" : "single value")}"),
            };
        }
        return result;
    }

    private static AgentOptions Build(Dictionary<string, IReadOnlyList<string>> values)
    {
        string? One(string key) => values.TryGetValue(key, out var v) && v.Count > 0 ? v[0] : null;
        var options = new AgentOptions();

        var servers = values.TryGetValue("server", out var listed) ? listed.Where(s => !string.IsNullOrWhiteSpace(s)).ToList() : [];
        if (servers.Count == 0)
        {
            throw new ConfigException("server is required: the plan server's URL, e.g. server: https://plan-server.example:9180");
        }
        var uris = new List<Uri>();
        foreach (var server in servers)
        {
            if (!Uri.TryCreate(server, UriKind.Absolute, out var serverUri) || serverUri.Scheme is not ("https" or "http"))
            {
                throw new ConfigException($"server '{server}' must be an absolute https:// URL");
            }
            if (serverUri.Scheme == "http" && !(IPAddress.TryParse(serverUri.Host, out var ip) && IPAddress.IsLoopback(ip)))
            {
                throw new ConfigException($"server '{server}' uses plain http to a non-loopback host: credentials would cross the network unencrypted; use https");
            }
            if (uris.Count > 0 && serverUri.Scheme != uris[0].Scheme)
            {
                throw new ConfigException($"server '{server}' is {serverUri.Scheme} while '{uris[0]}' is {uris[0].Scheme}: every plan server address takes the same scheme");
            }
            uris.Add(serverUri);
        }
        options.Servers = uris;
        options.ServerCa = One("server-ca") ?? "";
        if (options.ServerCa.Length > 0 && !File.Exists(options.ServerCa))
        {
            throw new ConfigException($"server-ca {options.ServerCa} does not exist");
        }
        options.Token = One("token") ?? "";
        options.Cluster = One("cluster") ?? "";
        if (options.Cluster.Length == 0)
        {
            throw new ConfigException("cluster is required: the name of the cluster this node belongs to");
        }
        options.NodeName = One("node-name") is { Length: > 0 } node ? node : Dns.GetHostName().ToLowerInvariant();
        if (values.TryGetValue("roles", out var roles))
        {
            var unknown = roles.FirstOrDefault(r => !RoleNames.Contains(r));
            if (unknown is not null)
            {
                throw new ConfigException($"roles: '{unknown}' is not one of {string.Join(", ", RoleNames)}");
            }
            options.Roles = roles;
        }
        if (One("runtime") is { } runtime)
        {
            options.Runtime = RuntimeNaming.TryParse(runtime, out var parsed)
                ? parsed
                : throw new ConfigException($"runtime '{runtime}' is not one of {string.Join(", ", RuntimeNaming.Names)}");
        }
        options.DataDir = One("data-dir") ?? "";
        if (values.TryGetValue("etcd-endpoints", out var endpoints) && endpoints.Count > 0)
        {
            options.EtcdEndpoints = endpoints;
        }
        var tlsDir = Path.Combine(options.EffectiveDataDir, "server", "tls", "etcd");
        options.EtcdCaCert = One("etcd-cacert") ?? Path.Combine(tlsDir, "server-ca.crt");
        options.EtcdCert = One("etcd-cert") ?? Path.Combine(tlsDir, "client.crt");
        options.EtcdKey = One("etcd-key") ?? Path.Combine(tlsDir, "client.key");
        try
        {
            options.EtcdConnection();
        }
        catch (Etcd.EtcdRequestException ex)
        {
            throw new ConfigException($"etcd-endpoints: {ex.Message}");
        }
        options.StateDir = One("state-dir") ?? options.StateDir;
        if (One("poll-wait") is { } wait)
        {
            if (!DurationText.TryParse(wait, out var parsed) || parsed <= TimeSpan.Zero)
            {
                throw new ConfigException($"poll-wait '{wait}' is not a positive duration such as 60s or 2m");
            }
            options.PollWait = parsed;
        }
        if (One("etcd-snapshot-stall-timeout") is { } stall)
        {
            if (!DurationText.TryParse(stall, out var parsed) || parsed <= TimeSpan.Zero)
            {
                throw new ConfigException($"etcd-snapshot-stall-timeout '{stall}' is not a positive duration such as 30s or 2m");
            }
            options.EtcdSnapshotStallTimeout = parsed;
        }
        if (One("metrics-listen") is { Length: > 0 } metrics)
        {
            if (!IPEndPoint.TryParse(metrics, out var endPoint) || endPoint.Port == 0)
            {
                throw new ConfigException($"metrics-listen '{metrics}' is not IP:PORT with a numeric IP address and a port, e.g. 127.0.0.1:9182");
            }
            options.MetricsListen = endPoint;
        }
        LoadRuntime(values, options);
        return options;
    }

    private static string[] SplitList(string text)
        => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
