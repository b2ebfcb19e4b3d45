namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// The snapshots in one node's snapshot directory, ours or anyone's that follows K3s's naming
/// (<c>etcdctl snapshot save</c> into the dir, K3s itself): list, delete and prune with K3s's
/// semantics. Part files, the save lock and subdirectories are never snapshots. A file without a
/// sidecar is taken to be this node's (<paramref name="localNodeName"/>), as K3s lists it.
/// </summary>
internal sealed class LocalSnapshotStore(string directory, string localNodeName = "")
{
    public string Directory { get; } = Path.GetFullPath(directory);

    public SnapshotSidecars Sidecars { get; } = new(directory);

    /// <summary>Every snapshot, newest first (created time, then name).</summary>
    public IReadOnlyList<SnapshotListing> List()
    {
        RequireDirectory();
        return new DirectoryInfo(Directory).EnumerateFiles()
            .Where(f => IsSnapshotFile(f.Name))
            .Select(ToListing)
            .OrderByDescending(s => s.CreatedAt)
            .ThenByDescending(s => s.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Deletes the named snapshots and their sidecars; every name must exist, or nothing is deleted.</summary>
    public IReadOnlyList<string> Delete(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            throw new SnapshotRequestException("name at least one snapshot to delete");
        }
        foreach (var name in names)
        {
            SnapshotNames.ValidateFileName(name);
        }
        RequireDirectory();
        var missing = names.Where(n => !IsSnapshotFile(n) || !File.Exists(Path.Combine(Directory, n))).ToList();
        if (missing.Count > 0)
        {
            throw new SnapshotRequestException($"no snapshot named {string.Join(", ", missing)} in {Directory}");
        }
        var deleted = new List<string>();
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            DeleteOne(name);
            deleted.Add(name);
        }
        return deleted;
    }

    /// <summary>
    /// Keeps the newest <paramref name="retention"/> snapshots named <c>&lt;prefix&gt;-...</c> (any node,
    /// as K3s does, so files of a former node name go too) and deletes the rest with their
    /// sidecars. Other prefixes are never touched; retention below 1 disables pruning.
    /// </summary>
    public IReadOnlyList<string> Prune(string prefix, int retention)
    {
        SnapshotNames.ValidatePart(prefix, "snapshot name prefix");
        if (retention < 1)
        {
            return [];
        }
        var doomed = List().Where(s => SnapshotNames.HasPrefix(s.Name, prefix)).Skip(retention).ToList();
        var deleted = new List<string>();
        foreach (var snapshot in doomed)
        {
            DeleteOne(snapshot.Name);
            deleted.Add(snapshot.Name);
        }
        return deleted;
    }

    public static bool IsSnapshotFile(string name)
        => !name.StartsWith('.') && !name.EndsWith(SnapshotNames.PartSuffix, StringComparison.Ordinal);

    private void DeleteOne(string name)
    {
        File.Delete(Path.Combine(Directory, name));
        Sidecars.Delete(name);
    }

    private void RequireDirectory()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            throw new SnapshotRequestException($"snapshot directory {Directory} does not exist");
        }
    }

    private SnapshotListing ToListing(FileInfo file)
    {
        var metadata = Sidecars.Read(file.Name);
        var created = SnapshotNames.CreatedFromName(file.Name) ?? new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero);
        return new SnapshotListing(
            file.Name,
            new Uri(file.FullName).AbsoluteUri,
            file.Length,
            created,
            metadata is { NodeName.Length: > 0 } ? metadata.NodeName : localNodeName,
            file.Name.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal),
            metadata?.Status ?? SnapshotMetadata.Successful,
            metadata?.Sha256 ?? "",
            metadata,
            metadata is null ? Sidecars.ReadRuntime(file.Name) : null);
    }
}

/// <summary>One line of <c>ls</c>: <see cref="Metadata"/> is our sidecar (null without one), <see cref="RuntimeMetadata"/> K3s's own, where it wrote one.</summary>
internal sealed record SnapshotListing(
    string Name, string Location, long Size, DateTimeOffset CreatedAt, string NodeName, bool Compressed, string Status, string Sha256,
    [property: System.Text.Json.Serialization.JsonIgnore] SnapshotMetadata? Metadata,
    [property: System.Text.Json.Serialization.JsonIgnore] RuntimeSnapshotMetadata? RuntimeMetadata = null);
