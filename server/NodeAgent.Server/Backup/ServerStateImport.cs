using Microsoft.Data.Sqlite;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Hosting;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Backup;

/// <summary>
/// Writes a <see cref="ServerStateDocument"/> into a new data dir: an empty or missing one only, so
/// nothing of another server's state is ever mixed in or overwritten, and on any failure everything
/// written is removed again (all of it is ours: the dir was empty). A plan-server started on the dir
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
        var existed = Directory.Exists(dataDir);
        if (existed && Directory.EnumerateFileSystemEntries(dataDir).Any())
        {
            throw new ServerStateException($"{dataDir} is not empty: import only into a new or empty data dir (nothing was changed)");
        }
        Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            using (DataDirLock.Acquire(dataDir))
            {
                await WriteRecordsAsync(document, new SqliteDatabase(Path.Combine(dataDir, ServerFeatures.DatabaseFileName), usedBefore: null), cancellationToken);
                foreach (var file in document.Files)
                {
                    var path = Path.Combine(dataDir, file.Path);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                    await using var stream = new FileStream(path, new FileStreamOptions
                    {
                        Mode = FileMode.CreateNew,
                        Access = FileAccess.Write,
                        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                    });
                    await stream.WriteAsync(Convert.FromBase64String(file.Base64), cancellationToken);
                    stream.Flush(flushToDisk: true);
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Undo(dataDir, existed);
            throw ex is ServerStateException ? ex : new ServerStateException($"import into {dataDir} failed, nothing of it was kept: {ex.Message}");
        }
        catch
        {
            Undo(dataDir, existed);
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

    private static void Undo(string dataDir, bool existed)
    {
        SqliteConnection.ClearAllPools();
        if (existed)
        {
            foreach (var entry in new DirectoryInfo(dataDir).EnumerateFileSystemInfos())
            {
                if (entry is DirectoryInfo dir)
                {
                    dir.Delete(recursive: true);
                }
                else
                {
                    entry.Delete();
                }
            }
        }
        else
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
