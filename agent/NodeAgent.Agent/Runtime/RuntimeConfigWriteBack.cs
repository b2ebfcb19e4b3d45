using System.Globalization;
using System.Text;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// Restore mode <c>all</c> on a K3s/RKE2 node: the snapshot's configuration files written back over
/// the node's (<see cref="RuntimeConfigDocument"/>). In each file the secret-bearing and node-specific
/// keys keep what the node has now (the snapshot never held the secrets, and the node names, addresses
/// and join settings are this node's); a file the snapshot did not have keeps only those keys, or is set
/// aside when it has none. A file that would not change is left alone; one that changes is kept beside
/// as <c>&lt;file&gt;.pre-restore-&lt;unix&gt;</c> first. Our restore drop-in is never touched. The recorded
/// files land at this node's <c>runtime-config</c> (the base file by its name, drop-ins by theirs in its
/// <c>.d</c>), so a node whose paths differ from the saving node's still gets them; any other path refuses
/// the whole step before a file changes. Running it again changes nothing more.
/// </summary>
internal static class RuntimeConfigWriteBack
{
    public const string KeptSuffix = ".pre-restore-";

    /// <summary>One line per file: what was done.</summary>
    /// <exception cref="RuntimeConfigException">The document, a path in it, or a file cannot be used; nothing was written.</exception>
    public static IReadOnlyList<string> Apply(string basePath, string document, DateTimeOffset now)
    {
        var recorded = RuntimeConfigDocument.Parse(document).Select(f => (Path: Local(f.Path, basePath), f.Content)).ToList();
        if (recorded.Select(f => f.Path).Distinct(StringComparer.Ordinal).Count() != recorded.Count)
        {
            throw new RuntimeConfigException("the snapshot's configuration names the same file twice");
        }
        var current = RuntimeConfigFiles.Read(basePath, skipDropIn: RuntimeConfigFiles.RestoreDropInName).Files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        var wanted = recorded.Select(f => (f.Path, Values: RuntimeConfigFiles.Parse(f.Content, f.Path))).ToList();
        wanted.AddRange(current.Keys.Where(p => recorded.All(f => f.Path != p)).Select(p => (p, (IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>>)[])));
        var stamp = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var lines = new List<string>();
        foreach (var (path, values) in wanted)
        {
            lines.Add(WriteOne(path, values, current.GetValueOrDefault(path), stamp));
        }
        return lines;
    }

    /// <summary>
    /// Where a recorded file goes on this node: the snapshot node's base file (named as this node's) to this
    /// node's base, its drop-ins (<c>*.yaml|*.yml</c> in <c>&lt;base name&gt;.d/</c>) to this node's <c>.d</c>; anything else is refused.
    /// </summary>
    private static string Local(string recorded, string basePath)
    {
        var name = Path.GetFileName(recorded);
        var directory = Path.GetDirectoryName(recorded) ?? "";
        var safe = Path.IsPathFullyQualified(recorded) && !recorded.Split('/').Any(p => p is ".." or ".");
        if (safe && name == Path.GetFileName(basePath))
        {
            return basePath;
        }
        if (safe && Path.GetFileName(directory) == Path.GetFileName(basePath) + ".d"
            && (name.EndsWith(".yaml", StringComparison.Ordinal) || name.EndsWith(".yml", StringComparison.Ordinal))
            && name != RuntimeConfigFiles.RestoreDropInName)
        {
            return Path.Combine(basePath + ".d", name);
        }
        throw new RuntimeConfigException($"refusing to write {recorded}: only {Path.GetFileName(basePath)} and *.yaml drop-ins in {Path.GetFileName(basePath)}.d/ are a node's runtime config");
    }

    private static string WriteOne(string path, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> recorded, RuntimeConfigFile? now, string stamp)
    {
        static bool Kept(string key) => RuntimeConfigDocument.IsSecret(key) || RuntimeConfigDocument.IsNodeSpecific(key);
        var keptHere = now?.Values.Where(p => Kept(p.Key)).ToList() ?? [];
        var result = recorded.Where(p => !Kept(p.Key)).Concat(keptHere).ToList();
        var keptNote = keptHere.Count == 0 ? "" : $" (kept from this node: {string.Join(", ", keptHere.Select(p => p.Key).Distinct(StringComparer.Ordinal))})";
        if (now is not null && Same(result, now.Values))
        {
            return $"{path} unchanged";
        }
        if (now is not null && result.Count == 0)
        {
            var aside = path + KeptSuffix + stamp;
            File.Move(path, aside, overwrite: true);
            Files.LinuxFiles.FsyncDirectoryOf(path);
            return $"{path} was not in the snapshot: set aside as {aside}";
        }
        var keptCopy = "";
        if (now is not null)
        {
            keptCopy = path + KeptSuffix + stamp;
            RuntimeFiles.Write(keptCopy, Encoding.UTF8.GetBytes(now.Text), RuntimeFiles.Private);
            keptCopy = $"; the file before is {keptCopy}";
        }
        var directory = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, RuntimeFiles.Executable);
        }
        RuntimeFiles.Write(path, Encoding.UTF8.GetBytes(RuntimeConfigDocument.ToYaml(result)), RuntimeFiles.Private);
        return $"wrote {path} from the snapshot{keptNote}{keptCopy}";
    }

    /// <summary>The same keys with the same values; their order within one file means nothing to the runtime (a file holds each key once).</summary>
    private static bool Same(List<KeyValuePair<string, IReadOnlyList<string>>> a, IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> b)
        => a.Count == b.Count && a.OrderBy(p => p.Key, StringComparer.Ordinal).Zip(b.OrderBy(p => p.Key, StringComparer.Ordinal))
            .All(p => p.First.Key == p.Second.Key && p.First.Value.SequenceEqual(p.Second.Value, StringComparer.Ordinal));
}
