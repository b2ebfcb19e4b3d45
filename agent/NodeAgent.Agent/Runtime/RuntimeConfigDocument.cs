using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// A K3s/RKE2 node's configuration as a snapshot records it (Snapshot.cluster_configuration, the
/// sidecar's clusterConfig): <c>{"format":"nodeagent.runtime-config/v1","files":[{"path","content","removedKeys"}]}</c>,
/// the files in the order the runtime reads them, our own restore drop-in left out. Each file's content
/// is written again from its keys (comments dropped: a commented-out secret stays out too) with the
/// secret-bearing keys taken out and named in removedKeys.
/// </summary>
internal static class RuntimeConfigDocument
{
    public const string Format = "nodeagent.runtime-config/v1";

    private static readonly string[] SecretKeys =
        ["token", "agent-token", "etcd-s3-access-key", "etcd-s3-secret-key", "etcd-s3-session-token", "datastore-endpoint"];

    private static readonly string[] SecretSuffixes = ["-token", "-password", "-secret", "-secret-key"];

    private static readonly string[] NodeSpecificKeys =
        ["node-name", "node-ip", "node-external-ip", "advertise-address", "bind-address", "server", "cluster-init", "with-node-id", "node-label", "node-taint"];

    /// <summary>'+' and '&lt;' stay as they are (the default encoder writes \u002B); YAML reads JSON's escapes of quotes and control characters.</summary>
    private static readonly RuntimeJsonContext Json = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, PropertyNamingPolicy = JsonNamingPolicy.CamelCase });

    /// <summary>A key whose value is a credential (a <c>key+</c> form counts as the key): never recorded, kept from the node on write-back.</summary>
    public static bool IsSecret(string key)
    {
        var name = key.TrimEnd('+');
        return SecretKeys.Contains(name, StringComparer.Ordinal) || SecretSuffixes.Any(s => name.EndsWith(s, StringComparison.Ordinal));
    }

    /// <summary>A key that belongs to the node, not the cluster: kept from the node on write-back.</summary>
    public static bool IsNodeSpecific(string key) => NodeSpecificKeys.Contains(key.TrimEnd('+'), StringComparer.Ordinal);

    /// <summary>The node's configuration files (our restore drop-in excluded) as a document, secrets taken out.</summary>
    /// <exception cref="RuntimeConfigException">A file the runtime could not read either.</exception>
    public static string Capture(string basePath)
    {
        var files = RuntimeConfigFiles.Read(basePath, skipDropIn: RuntimeConfigFiles.RestoreDropInName).Files.Select(f => new RuntimeConfigFileJson
        {
            Path = f.Path,
            Content = ToYaml(f.Values.Where(p => !IsSecret(p.Key))),
            RemovedKeys = [.. f.Values.Select(p => p.Key).Where(IsSecret).Distinct(StringComparer.Ordinal)],
        }).ToList();
        return JsonSerializer.Serialize(new RuntimeConfigDocumentJson { Format = Format, Files = files }, Json.RuntimeConfigDocumentJson);
    }

    /// <summary>Reads a document a snapshot recorded.</summary>
    /// <exception cref="RuntimeConfigException">Not a document of this format, named with the reason.</exception>
    public static IReadOnlyList<RuntimeConfigFileJson> Parse(string document)
    {
        RuntimeConfigDocumentJson? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(document, Json.RuntimeConfigDocumentJson);
        }
        catch (JsonException ex)
        {
            throw new RuntimeConfigException($"the snapshot's configuration is not a {Format} document: {ex.Message}");
        }
        if (parsed?.Format != Format)
        {
            throw new RuntimeConfigException($"the snapshot's configuration is not a {Format} document (format \"{parsed?.Format}\")");
        }
        return parsed.Files;
    }

    /// <summary>
    /// A config file's text from its keys: every value double-quoted (JSON escapes are YAML's), lists of two or
    /// more as block sequences, a one-item list as its item (K3s reads a scalar as a one-item list).
    /// </summary>
    public static string ToYaml(IEnumerable<KeyValuePair<string, IReadOnlyList<string>>> pairs)
    {
        var text = new StringBuilder();
        foreach (var (key, items) in pairs)
        {
            var name = key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '+' or '.') && key.Length > 0 ? key : Quote(key);
            if (items.Count == 1)
            {
                text.Append(name).Append(": ").Append(Quote(items[0])).Append('\n');
                continue;
            }
            text.Append(name).Append(items.Count == 0 ? ": []\n" : ":\n");
            foreach (var item in items)
            {
                text.Append("  - ").Append(Quote(item)).Append('\n');
            }
        }
        return text.ToString();
    }

    private static string Quote(string value) => JsonSerializer.Serialize(value, Json.String);
}

/// <summary>The recorded document.</summary>
internal sealed class RuntimeConfigDocumentJson
{
    public string Format { get; set; } = "";

    public List<RuntimeConfigFileJson> Files { get; set; } = [];
}

/// <summary>One recorded file: where it was, its keys as YAML, which secret-bearing keys were taken out.</summary>
internal sealed class RuntimeConfigFileJson
{
    public string Path { get; set; } = "";

    public string Content { get; set; } = "";

    public List<string> RemovedKeys { get; set; } = [];
}

/// <summary>Source-generated JSON for the runtime configuration document (compact: it travels in sidecars and the catalog).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RuntimeConfigDocumentJson))]
[JsonSerializable(typeof(string))]
internal sealed partial class RuntimeJsonContext : JsonSerializerContext;
