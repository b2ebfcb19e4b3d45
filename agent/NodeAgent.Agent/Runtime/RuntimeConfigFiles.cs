using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// The K3s/RKE2 config as the runtime itself reads it (k3s <c>pkg/configfilearg</c>, reference note
/// k3s-etcd-start-join-reset.md §1): the base file, then <c>&lt;file&gt;.d/*.yaml|*.yml</c> sorted by name
/// (the base may be missing when a drop-in exists); for each key a later file wins, and a key ending in
/// <c>+</c> appends to the list instead. Values are kept as text: a scalar as one item, a sequence as
/// its items. <see cref="Files"/> keeps each file's own text (what a snapshot records for restore mode all).
/// </summary>
internal sealed class RuntimeConfigFiles
{
    /// <summary>Our own drop-in of a restore in progress (Rancher's is zz_etcd-snapshot-restore.yaml).</summary>
    public const string RestoreDropInName = "zz-nodeagent-restore.yaml";

    private readonly Dictionary<string, IReadOnlyList<string>> _values;

    private RuntimeConfigFiles(string basePath, IReadOnlyList<RuntimeConfigFile> files, Dictionary<string, IReadOnlyList<string>> values)
    {
        BasePath = basePath;
        Files = files;
        _values = values;
    }

    /// <summary>The base file's path (<c>/etc/rancher/&lt;rt&gt;/config.yaml</c> unless configured).</summary>
    public string BasePath { get; }

    /// <summary>The drop-in directory: <c>&lt;base&gt;.d</c>.</summary>
    public string DropInDirectory => BasePath + ".d";

    /// <summary>Every file read, in the order the runtime applies them.</summary>
    public IReadOnlyList<RuntimeConfigFile> Files { get; }

    /// <summary>The merged keys (without a trailing <c>+</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Values => _values;

    /// <summary>The merged value of a scalar key (the last item of a list), or null when no file sets it.</summary>
    public string? Scalar(string key) => _values.TryGetValue(key, out var v) && v.Count > 0 ? v[^1] : null;

    /// <summary>Whether a boolean key is set to true ("true", "yes", "on", "1", as YAML and urfave/cli read it).</summary>
    public bool IsTrue(string key) => Scalar(key)?.Trim().ToLowerInvariant() is "true" or "yes" or "on" or "1";

    /// <summary>Reads the base file and its drop-ins; neither existing is an empty config.</summary>
    /// <param name="skipDropIn">A drop-in file name to leave out (our own restore drop-in, when the caller wants the node's own config).</param>
    /// <exception cref="RuntimeConfigException">A file that cannot be read or is not a YAML mapping, named with the reason.</exception>
    public static RuntimeConfigFiles Read(string basePath, string? skipDropIn = null)
    {
        var files = new List<RuntimeConfigFile>();
        if (File.Exists(basePath))
        {
            files.Add(ReadFile(basePath));
        }
        var dropIns = basePath + ".d";
        if (Directory.Exists(dropIns))
        {
            foreach (var path in Directory.GetFiles(dropIns)
                .Where(p => p.EndsWith(".yaml", StringComparison.Ordinal) || p.EndsWith(".yml", StringComparison.Ordinal))
                .Where(p => skipDropIn is null || Path.GetFileName(p) != skipDropIn)
                .Order(StringComparer.Ordinal))
            {
                files.Add(ReadFile(path));
            }
        }
        var values = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            foreach (var (key, items) in file.Values)
            {
                if (key.EndsWith('+'))
                {
                    var name = key[..^1];
                    values[name] = values.TryGetValue(name, out var before) ? [.. before, .. items] : items;
                }
                else
                {
                    values[key] = items;
                }
            }
        }
        return new RuntimeConfigFiles(basePath, files, values);
    }

    /// <summary>Parses one file's text as the runtime does: a mapping of keys to scalars or sequences of scalars.</summary>
    /// <exception cref="RuntimeConfigException">Not a YAML mapping of scalars and lists.</exception>
    public static IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> Parse(string text, string path)
    {
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new RuntimeConfigException($"{path}: not valid YAML: {ex.Message}");
        }
        if (yaml.Documents.Count == 0)
        {
            return [];
        }
        if (yaml.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new RuntimeConfigException($"{path}: not a YAML mapping of keys to values");
        }
        var pairs = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        foreach (var (keyNode, valueNode) in root.Children)
        {
            var key = ((YamlScalarNode)keyNode).Value ?? "";
            IReadOnlyList<string> items = valueNode switch
            {
                YamlScalarNode scalar => [scalar.Value ?? ""],
                YamlSequenceNode sequence => sequence.Children.Select(c => c is YamlScalarNode s ? s.Value ?? "" : throw new RuntimeConfigException($"{path}: key '{key}' holds a nested value; only scalars and lists of scalars are runtime flags")).ToArray(),
                _ => throw new RuntimeConfigException($"{path}: key '{key}' holds a nested mapping; only scalars and lists of scalars are runtime flags"),
            };
            pairs.Add(new(key, items));
        }
        return pairs;
    }

    private static RuntimeConfigFile ReadFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new RuntimeConfigException($"cannot read {path}: {ex.Message}");
        }
        return new RuntimeConfigFile(path, text, Parse(text, path));
    }
}

/// <summary>One config file: its path, its text, and its keys in order.</summary>
internal sealed record RuntimeConfigFile(string Path, string Text, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> Values);

/// <summary>A runtime config file that cannot be read as the runtime would read it.</summary>
internal sealed class RuntimeConfigException(string message) : Exception(message);
