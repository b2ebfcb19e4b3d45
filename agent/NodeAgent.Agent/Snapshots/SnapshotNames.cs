using System.Globalization;
using NodeAgent.Agent.Files;
using NodeAgent.Contracts.V1;

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
    public const string PartSuffix = DurableFile.PartSuffix;

    /// <summary>Linux's NAME_MAX: the longest file name, in bytes.</summary>
    public const int MaxFileNameBytes = 255;

    /// <summary>What a name prefix and node name share of a file name: <c>&lt;name&gt;-&lt;node&gt;-&lt;10 digits&gt;.zip.part</c>.</summary>
    public const int MaxPrefixAndNodeBytes = MaxFileNameBytes - 12 - 4 - 5;

    public static string Compose(string prefix, string nodeName, DateTimeOffset createdAt)
        => string.Create(CultureInfo.InvariantCulture, $"{prefix}-{nodeName}-{createdAt.ToUnixTimeSeconds()}");

    /// <summary>
    /// A name prefix (<c>--name</c>) or node name is one path component that K3s could also parse:
    /// not empty, no separators, no <c>..</c>, no whitespace or control characters.
    /// </summary>
    public static void ValidatePart(string value, string what)
    {
        if (PartProblem(value, what) is { } problem)
        {
            throw new SnapshotRequestException(problem);
        }
    }

    private static string? PartProblem(string value, string what)
    {
        if (string.IsNullOrEmpty(value))
        {
            return $"{what} must not be empty";
        }
        if (value is "." or ".." || value.Contains('/', StringComparison.Ordinal) || value.Contains('\\', StringComparison.Ordinal))
        {
            return $"{what} \"{value}\" must be a bare name, not a path";
        }
        if (value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            return $"{what} \"{value}\" must not contain spaces or control characters";
        }
        return value.StartsWith('.') || value.StartsWith('-') ? $"{what} \"{value}\" must not start with '.' or '-'" : null;
    }

    /// <summary>
    /// A name prefix and node name that make file names the file system takes: refused before
    /// anything is written, with the limit, rather than failing on the first create.
    /// </summary>
    public static void ValidateLength(string prefix, string nodeName)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(prefix) + System.Text.Encoding.UTF8.GetByteCount(nodeName);
        if (bytes > MaxPrefixAndNodeBytes)
        {
            throw new SnapshotRequestException(string.Create(CultureInfo.InvariantCulture,
                $"snapshot name and node name are {bytes} bytes together; at most {MaxPrefixAndNodeBytes} fit, since a file name (<name>-<node>-<unix seconds>{ZipSuffix}{PartSuffix}) is at most {MaxFileNameBytes} bytes"));
        }
    }

    /// <summary>
    /// Whether a file name is a <c>.part</c> of ours: <c>&lt;name&gt;-&lt;node&gt;-&lt;unix seconds&gt;[.zip].part</c>
    /// with a name and node we could have written. Anything else in the dir belongs to someone else.
    /// </summary>
    public static bool IsSnapshotPart(string fileName)
    {
        if (!fileName.EndsWith(PartSuffix, StringComparison.Ordinal))
        {
            return false;
        }
        var bare = fileName[..^PartSuffix.Length];
        bare = bare.EndsWith(ZipSuffix, StringComparison.Ordinal) ? bare[..^ZipSuffix.Length] : bare;
        var dash = bare.LastIndexOf('-');
        var head = dash > 0 ? bare[..dash] : "";
        var nodeDash = head.LastIndexOf('-');
        return CreatedFromName(bare) is not null && nodeDash > 0 && nodeDash < head.Length - 1 && IsValidPart(head[..nodeDash]) && IsValidPart(head[(nodeDash + 1)..]);
    }

    private static bool IsValidPart(string value) => PartProblem(value, "name") is null;

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

    /// <inheritdoc cref="SnapshotFileNames.CreatedFromName"/>
    public static DateTimeOffset? CreatedFromName(string fileName) => SnapshotFileNames.CreatedFromName(fileName);

    /// <inheritdoc cref="SnapshotFileNames.NodeFromName"/>
    public static string NodeFromName(string fileName, IEnumerable<string> prefixes) => SnapshotFileNames.NodeFromName(fileName, prefixes);

    /// <summary>Whether a file belongs to the name prefix: <c>&lt;prefix&gt;-...</c>, so <c>etcd-snapshot</c> never matches <c>etcd-snapshotx-...</c>.</summary>
    public static bool HasPrefix(string fileName, string prefix) => fileName.StartsWith(prefix + "-", StringComparison.Ordinal);
}
