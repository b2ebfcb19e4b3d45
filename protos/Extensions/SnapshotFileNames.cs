using System.Globalization;

namespace NodeAgent.Contracts.V1;

/// <summary>
/// What K3s's snapshot file names say, <c>&lt;prefix&gt;-&lt;node&gt;-&lt;unix seconds&gt;[.zip]</c>: read the same
/// way by the agents (local files, S3 listings) and by the plan server (its own S3 listing).
/// </summary>
public static class SnapshotFileNames
{
    private const string ZipSuffix = ".zip";

    /// <summary>The created time in the name (K3s: strip .zip, parse after the last '-'), or null.</summary>
    public static DateTimeOffset? CreatedFromName(string fileName)
    {
        var bare = fileName.EndsWith(ZipSuffix, StringComparison.Ordinal) ? fileName[..^ZipSuffix.Length] : fileName;
        var dash = bare.LastIndexOf('-');
        return dash >= 0 && long.TryParse(bare.AsSpan(dash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            && seconds is > 0 and < 253402300800
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
    }

    /// <summary>
    /// The node part of a K3s name for one of the known <paramref name="prefixes"/> (K3s's
    /// <c>on-demand</c> and <c>etcd-snapshot</c>, the configured name): both the prefix and the node may
    /// hold '-', so only a known prefix splits the name, the longest that fits. "" when none fits. K3s
    /// itself never reads the node from the name (its object metadata names it).
    /// </summary>
    public static string NodeFromName(string fileName, IEnumerable<string> prefixes)
    {
        var bare = fileName.EndsWith(ZipSuffix, StringComparison.Ordinal) ? fileName[..^ZipSuffix.Length] : fileName;
        var dash = bare.LastIndexOf('-');
        if (CreatedFromName(bare) is null || dash <= 0)
        {
            return "";
        }
        var head = bare[..dash];
        var prefix = prefixes.Where(p => p.Length > 0 && head.Length > p.Length + 1 && head.StartsWith(p + "-", StringComparison.Ordinal)).MaxBy(p => p.Length);
        return prefix is null ? "" : head[(prefix.Length + 1)..];
    }
}
