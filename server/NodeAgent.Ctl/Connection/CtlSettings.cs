using YamlDotNet.RepresentationModel;

namespace NodeAgent.Ctl.Connection;

/// <summary>
/// Where the plan server is and how to prove who we are: flags, then NODEAGENT_SERVER /
/// NODEAGENT_TOKEN / NODEAGENT_CA_FILE, then ~/.config/nodeagent/config.yaml (keys server,
/// token, ca-file; 0600 when it holds a token). <c>server</c> may name several replicas, as the
/// agent's <c>server</c> does: comma-separated, or a YAML list in the file, all of one scheme.
/// </summary>
internal sealed record CtlSettings(IReadOnlyList<Uri> Servers, string Token, string? CaFile)
{
    public static string DefaultConfigPath
        => Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "nodeagent", "config.yaml");

    public static CtlSettings Resolve(string? server, string? token, string? caFile, IReadOnlyDictionary<string, string> environment, string configPath)
    {
        var file = ReadFile(configPath);
        string? Pick(string? flag, string env, string key)
            => !string.IsNullOrEmpty(flag) ? flag
                : environment.TryGetValue(env, out var e) && e.Length > 0 ? e
                : file.GetValueOrDefault(key);

        var servers = ParseServers(Pick(server, "NODEAGENT_SERVER", "server"), configPath);
        var tokenText = Pick(token, "NODEAGENT_TOKEN", "token")
            ?? throw new CtlException("no credential: pass --token, set NODEAGENT_TOKEN, or put 'token:' in " + configPath + " (the plan server's DATA_DIR/admin-token)");
        var ca = Pick(caFile, "NODEAGENT_CA_FILE", "ca-file");
        if (ca is not null && !File.Exists(ca))
        {
            throw new CtlException($"CA file {ca} does not exist");
        }
        return new CtlSettings(servers, tokenText.Trim(), ca);
    }

    private static List<Uri> ParseServers(string? text, string configPath)
    {
        var entries = text?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (entries.Length == 0)
        {
            throw new CtlException("no plan server: pass --server, set NODEAGENT_SERVER, or put 'server:' in " + configPath);
        }
        var uris = new List<Uri>();
        foreach (var entry in entries)
        {
            if (!Uri.TryCreate(entry, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http"))
            {
                throw new CtlException($"server '{entry}' must be a URL such as https://127.0.0.1:9180");
            }
            if (uris.Count > 0 && uri.Scheme != uris[0].Scheme)
            {
                throw new CtlException($"server '{entry}' is {uri.Scheme} while '{entries[0]}' is {uris[0].Scheme}: every plan server address takes the same scheme");
            }
            uris.Add(uri);
        }
        return uris;
    }

    private static Dictionary<string, string> ReadFile(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return values;
        }
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            yaml.Load(reader);
        }
        if (yaml.Documents.Count > 0 && yaml.Documents[0].RootNode is YamlMappingNode root)
        {
            foreach (var (key, value) in root.Children)
            {
                if (key is YamlScalarNode k && value is YamlScalarNode v && k.Value is not null && v.Value is not null)
                {
                    values[k.Value] = v.Value;
                }
                else if (key is YamlScalarNode { Value: "server" } && value is YamlSequenceNode list)
                {
                    // A YAML list of replicas reads as the comma-separated form the flag and NODEAGENT_SERVER take.
                    values["server"] = string.Join(',', list.Children.Select(item => item is YamlScalarNode { Value: { } url }
                        ? url
                        : throw new CtlException($"{path}: each entry of the 'server' list must be a URL")));
                }
            }
        }
        var mode = File.GetUnixFileMode(path);
        if (values.ContainsKey("token") && (mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0)
        {
            throw new CtlException($"{path} holds a token but others can read it: chmod 0600 {path}");
        }
        return values;
    }
}

/// <summary>A usage or input problem; printed as one line, exit code 2.</summary>
internal sealed class CtlException(string message) : Exception(message);
