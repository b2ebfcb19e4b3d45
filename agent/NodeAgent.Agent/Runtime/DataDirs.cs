using System.Globalization;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// Moves etcd data dirs aside instead of deleting them (<c>db/etcd-old-&lt;unix&gt;</c>,
/// <c>&lt;data-dir&gt;.old-&lt;unix&gt;</c>), durably (the parent is fsynced), and keeps only the
/// newest few of those copies so repeated restores do not fill the disk.
/// </summary>
internal static class DataDirs
{
    public const int KeptAside = 3;

    /// <summary>Renames <paramref name="directory"/> to <c>&lt;asidePrefix&gt;&lt;unix&gt;</c> (or <c>…-2</c>, … when taken); returns the new path.</summary>
    public static string MoveAside(string directory, string asidePrefix, DateTimeOffset now)
    {
        var stamp = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var target = asidePrefix + stamp;
        for (var n = 2; Directory.Exists(target) || File.Exists(target); n++)
        {
            target = string.Create(CultureInfo.InvariantCulture, $"{asidePrefix}{stamp}-{n}");
        }
        Directory.Move(directory, target);
        LinuxFiles.FsyncDirectoryOf(directory);
        return target;
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> dirs named <c>&lt;asidePrefix&gt;&lt;unix&gt;[-n]</c>; returns what it deleted.</summary>
    public static IReadOnlyList<string> PruneAside(string asidePrefix, int keep = KeptAside)
    {
        var parent = Path.GetDirectoryName(asidePrefix)!;
        var prefix = Path.GetFileName(asidePrefix);
        if (!Directory.Exists(parent))
        {
            return [];
        }
        var doomed = new DirectoryInfo(parent).GetDirectories(prefix + "*")
            .Select(d => (Dir: d, Order: OrderOf(d.Name[prefix.Length..])))
            .Where(d => d.Order is not null)
            .OrderByDescending(d => d.Order!.Value.Seconds).ThenByDescending(d => d.Order!.Value.Sequence)
            .Skip(keep)
            .Select(d => d.Dir)
            .ToList();
        foreach (var dir in doomed)
        {
            dir.Delete(recursive: true);
        }
        return doomed.Select(d => d.FullName).ToList();
    }

    private static (long Seconds, int Sequence)? OrderOf(string suffix)
    {
        var parts = suffix.Split('-');
        return parts.Length is 1 or 2
            && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            && (parts.Length == 1 || int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out _))
            ? (seconds, parts.Length == 1 ? 1 : int.Parse(parts[1], CultureInfo.InvariantCulture))
            : null;
    }
}
