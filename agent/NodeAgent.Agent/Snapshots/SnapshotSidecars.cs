using System.Text.Json;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// The metadata sidecars, where K3s keeps them: <c>&lt;snapshot dir&gt;/../.metadata/&lt;file&gt;</c>
/// (so <c>&lt;data-dir&gt;/server/db/.metadata/</c> by default). Directory 0700, files 0600, written
/// to a temporary name, fsynced and renamed, so a sidecar is whole or absent.
/// </summary>
internal sealed class SnapshotSidecars(string snapshotDir)
{
    public string Directory { get; } = Path.GetFullPath(Path.Combine(snapshotDir, "..", ".metadata"));

    public string PathOf(string fileName) => Path.Combine(Directory, fileName);

    public void Write(SnapshotMetadata metadata)
    {
        LinuxFiles.CreatePrivateDirectory(Directory);
        var path = PathOf(metadata.Name);
        var temp = path + SnapshotNames.PartSuffix;
        try
        {
            using (var stream = new FileStream(temp, new FileStreamOptions
            {
                Mode = FileMode.Create,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }))
            {
                JsonSerializer.Serialize(stream, metadata.ToMap(), SnapshotJsonContext.Default.DictionaryStringString);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            LinuxFiles.FsyncDirectory(Directory);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The sidecar of a snapshot, or null when it has none or it cannot be read as a string map.</summary>
    public SnapshotMetadata? Read(string fileName)
    {
        var path = PathOf(fileName);
        try
        {
            using var stream = File.OpenRead(path);
            var map = JsonSerializer.Deserialize(stream, SnapshotJsonContext.Default.DictionaryStringString);
            return map is null ? null : SnapshotMetadata.FromMap(map, fileName);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or JsonException)
        {
            return null;
        }
    }

    public void Delete(string fileName) => File.Delete(PathOf(fileName));
}
