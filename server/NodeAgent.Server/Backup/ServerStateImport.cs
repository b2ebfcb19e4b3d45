using Microsoft.Data.Sqlite;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Files;
using NodeAgent.Server.Hosting;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Backup;

/// <summary>
/// Writes a <see cref="ServerStateDocument"/> into a new data dir: an empty or missing one only, so
/// nothing of another server's state is ever mixed in or overwritten. It is written whole in a dir
/// beside it (<c>DIR.import-*</c>) and renamed into place; on a failure that dir is removed. A plan-server started on the dir
/// then goes on where the exported one was: the same clusters, nodes (their agents' credentials
/// still valid), operations (an active one resumes), catalog, admin token and CA.
/// </summary>
internal static class ServerStateImport
{
    /// <exception cref="ServerStateException">The document is not an export this version reads, or the data dir is not empty, or writing failed.</exception>
    public static async Task WriteAsync(ServerStateDocument document, string dataDir, CancellationToken cancellationToken)
    {
        if (document.Format != ServerStateDocument.FormatName || document.Version != ServerStateDocument.CurrentVersion)
        {
            throw new ServerStateException($"not a plan-server export this version reads (format \"{document.Format}\" version {document.Version}; expected \"{ServerStateDocument.FormatName}\" version {ServerStateDocument.CurrentVersion})");
        }
        foreach (var file in document.Files.Where(f => !ServerStateExport.FileNames.Contains(f.Path)))
        {
            throw new ServerStateException($"the export holds a file this version does not write: {file.Path}");
        }
        dataDir = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDir));
        if (Directory.Exists(dataDir) && Directory.EnumerateFileSystemEntries(dataDir).Any())
        {
            throw new ServerStateException($"{dataDir} is not empty: import only into a new or empty data dir (nothing was changed)");
        }
        // Written beside the target and renamed into place when whole: an import cut short (killed,
        // power lost) leaves only this dir, never a data dir a server would start on half-filled.
        var staging = $"{dataDir}.import-{Guid.NewGuid():N}";
        Directory.CreateDirectory(staging, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            using (DataDirLock.Acquire(staging))
            {
                await WriteRecordsAsync(document, new SqliteDatabase(Path.Combine(staging, ServerFeatures.DatabaseFileName), usedBefore: null), cancellationToken);
                SqliteConnection.ClearAllPools();
                foreach (var file in document.Files)
                {
                    var path = Path.Combine(staging, file.Path);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    await using var stream = PrivateFile.CreateNew(path);
                    await stream.WriteAsync(Convert.FromBase64String(file.Base64), cancellationToken);
                    stream.Flush(flushToDisk: true);
                }
            }
            if (Directory.Exists(dataDir))
            {
                // Empty (checked above): rename(2) replaces only an empty dir, and fails if one appeared in it since.
                Directory.Delete(dataDir);
            }
            Directory.Move(staging, dataDir);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Undo(staging);
            throw ex is ServerStateException ? ex : new ServerStateException($"import into {dataDir} failed, nothing of it was kept: {ex.Message}");
        }
        catch
        {
            Undo(staging);
            throw;
        }
    }

    private static async Task WriteRecordsAsync(ServerStateDocument document, SqliteDatabase database, CancellationToken cancellationToken)
    {
        var plans = new SqlitePlanStore(database);
        var operations = new SqliteOperationStore(database);
        var catalog = new SqliteCatalogStore(database);
        foreach (var cluster in document.Clusters)
        {
            if (!await plans.TryAddClusterAsync(cluster.ToRecord(), cancellationToken))
            {
                throw new ServerStateException($"the export holds cluster \"{cluster.Name}\" twice");
            }
        }
        foreach (var node in document.Nodes)
        {
            await plans.UpsertNodeAsync(node, cancellationToken);
        }
        foreach (var operation in document.Operations.Select(o => o.ToRecord()))
        {
            if (!await operations.TryAddAsync(operation, cancellationToken))
            {
                throw new ServerStateException($"the export holds more than one active operation of cluster \"{operation.Cluster}\" ({operation.Id})");
            }
        }
        foreach (var cluster in document.Snapshots.GroupBy(s => s.Cluster))
        {
            var copies = cluster.Select(s => s.ToSnapshot()).ToList();
            // The S3 copies first: a listing that includes S3 replaces every S3 copy of the cluster.
            await catalog.ReplaceInventoryAsync(cluster.Key, "", copies.Where(c => c.Storage == StorageKind.S3).ToList(), includesS3: true, cancellationToken);
            foreach (var holder in copies.Where(c => c.Storage == StorageKind.Local).GroupBy(c => c.Node))
            {
                await catalog.ReplaceInventoryAsync(cluster.Key, holder.Key, holder.ToList(), includesS3: false, cancellationToken);
            }
        }
        await catalog.SaveConfigurationsAsync(document.ClusterConfigurations, cancellationToken);
    }

    private static void Undo(string staging)
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(staging))
        {
            Directory.Delete(staging, recursive: true);
        }
    }
}
