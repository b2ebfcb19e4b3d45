using System.Globalization;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// K3s's snapshot file names: <c>&lt;name&gt;-&lt;node&gt;-&lt;unix seconds&gt;</c>, plus <c>.zip</c> when
/// compressed. The created time is read back from the digits after the last '-'.
/// </summary>
internal static class SnapshotNames
{
    public const string OnDemandPrefix = "on-demand";
    public const string RecurringPrefix = "etcd-snapshot";
    public const string ZipSuffix = ".zip";
    public const string PartSuffix = ".part";

    public static string Compose(string prefix, string nodeName, DateTimeOffset createdAt)
        => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{nodeName}-{createdAt.ToUnixTimeSeconds()}");

    /// <summary>
    /// A name prefix (<c>--name</c>) or node name is one path component that K3s could also parse:
    /// not empty, no separators, no <c>..</c>, no whitespace or control characters.
    /// </summary>
    public static void ValidatePart(string value, string what)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new SnapshotRequestException($"{what} must not be empty");
        }
        if (value is "." or ".." || value.Contains('/', StringComparison.Ordinal) || value.Contains('\\', StringComparison.Ordinal))
        {
            throw new SnapshotRequestException($"{what} \"{value}\" must be a bare name, not a path");
        }
        if (value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new SnapshotRequestException($"{what} \"{value}\" must not contain spaces or control characters");
        }
        if (value.StartsWith('.') || value.StartsWith('-'))
        {
            throw new SnapshotRequestException($"{what} \"{value}\" must not start with '.' or '-'");
        }
    }

    /// <summary>A snapshot file name given to delete: a bare basename, as K3s demands (filepath.Base(s) == s).</summary>
    public static void ValidateFileName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new SnapshotRequestException("snapshot name must not be empty");
        }
        if (name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal))
        {
            throw new SnapshotRequestException($"snapshot name \"{name}\" must be a bare file name: paths, '..' and separators are refused");
        }
    }

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

    /// <summary>Whether a file belongs to the name prefix: <c>&lt;prefix&gt;-...</c>, so <c>etcd-snapshot</c> never matches <c>etcd-snapshotx-...</c>.</summary>
    public static bool HasPrefix(string fileName, string prefix) => fileName.StartsWith(prefix + "-", StringComparison.Ordinal);
}
