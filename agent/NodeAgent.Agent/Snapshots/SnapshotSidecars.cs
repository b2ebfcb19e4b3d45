using System.Text.Json;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// The metadata sidecars, where K3s keeps them: <c>&lt;snapshot dir&gt;/../.metadata/&lt;file&gt;</c>
/// (so <c>&lt;data-dir&gt;/server/db/.metadata/</c> by default). Directory 0700, files 0600, written
/// through <see cref="DurableFile"/> (<c>&lt;file&gt;.part</c>), so a sidecar is whole or absent.
/// </summary>
internal sealed class SnapshotSidecars(string snapshotDir)
{
    public string Directory { get; } = Path.GetFullPath(Path.Combine(snapshotDir, "..", ".metadata"));

    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    public void Write(SnapshotMetadata metadata)
    {
        LinuxFiles.CreatePrivateDirectory(Directory);
        DurableFile.Write(PathOf(metadata.Name), UnixFileMode.UserRead | UnixFileMode.UserWrite,
            stream => JsonSerializer.Serialize(stream, metadata.ToMap(), SnapshotJsonContext.Default.DictionaryStringString));
    }

    /// <summary>Our sidecar of a snapshot, or null when it has none, it cannot be read as a string map, or it is K3s's own.</summary>
    public SnapshotMetadata? Read(string fileName)
        => ReadMap(fileName) is { } map && SnapshotMetadata.IsOurs(map) ? SnapshotMetadata.FromMap(map, fileName) : null;

    /// <summary>K3s's own sidecar of a snapshot (its extra metadata), or null when it has none or the sidecar is ours.</summary>
    public RuntimeSnapshotMetadata? ReadRuntime(string fileName)
        => ReadMap(fileName) is { } map && !SnapshotMetadata.IsOurs(map) ? RuntimeSnapshotMetadata.FromMap(map) : null;

    private Dictionary<string, string>? ReadMap(string fileName)
    {
        var path = PathOf(fileName);
        try
        {
            using var stream = File.OpenRead(path);
            return JsonSerializer.Deserialize(stream, SnapshotJsonContext.Default.DictionaryStringString);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return null;
        }
    }

    /// <summary>Deletes a snapshot's sidecar, if any: no <c>.metadata/</c> dir (files etcdctl or K3s wrote, an operator removed it) means no sidecar.</summary>
    public void Delete(string fileName)
    {
        try
        {
            File.Delete(PathOf(fileName));
        }
        catch (DirectoryNotFoundException)
        {
            // Nothing to delete: File.Delete ignores a missing file but not a missing dir.
        }
    }
}
