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
        Check(document);
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
                var database = new SqliteDatabase(Path.Combine(staging, ServerFeatures.DatabaseFileName), usedBefore: null);
                await WriteRecordsAsync(document, new SqlitePlanStore(database), new SqliteOperationStore(database), new SqliteCatalogStore(database), cancellationToken);
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

    /// <summary>
    /// Writes the document into an etcd store under a prefix that holds nothing yet (so no other
    /// server's state is mixed in), the shared files with it (every replica started on the store takes
    /// them). On a failure or SIGTERM everything written under the prefix is removed again: it was empty.
    /// </summary>
    public static async Task WriteAsync(ServerStateDocument document, Store.Etcd.EtcdStoreOptions options, CancellationToken cancellationToken)
    {
        Check(document);
        using var etcd = new Store.Etcd.EtcdConnection(options);
        var keys = new Store.Etcd.EtcdKeys(options.Prefix);
        try
        {
            var existing = await etcd.RangeAsync(Store.Etcd.Kv.Prefix(keys.Root, keysOnly: true), cancellationToken);
            if (existing.Count > 0)
            {
                throw new ServerStateException($"the etcd store holds {existing.Count} keys under {options.Prefix}/: import only into an empty prefix (nothing was changed)");
            }
        }
        catch (Errors.StoreUnavailableException ex)
        {
            throw new ServerStateException(ex.Message);
        }
        try
        {
            await WriteRecordsAsync(document, new Store.Etcd.EtcdPlanStore(etcd, keys), new Store.Etcd.EtcdOperationStore(etcd, keys), new Store.Etcd.EtcdCatalogStore(etcd, keys), cancellationToken);
            var files = new Etcdserverpb.TxnRequest();
            foreach (var file in document.Files)
            {
                files.Compare.Add(Store.Etcd.Kv.Absent(keys.ServerFile(file.Path)));
                files.Success.Add(Store.Etcd.Kv.Put(keys.ServerFile(file.Path), Google.Protobuf.ByteString.FromBase64(file.Base64)));
            }
            if (!(await etcd.TxnAsync(files, cancellationToken)).Succeeded)
            {
                throw new ServerStateException($"a plan-server put its files under {options.Prefix}/server-files/ while the import ran; stop it and import again");
            }
        }
        catch (Exception ex)
        {
            using var undo = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await etcd.TxnAsync(new Etcdserverpb.TxnRequest { Success = { Store.Etcd.Kv.DeletePrefix(keys.Root) } }, undo.Token);
            }
            catch (Exception cleanup) when (cleanup is Errors.StoreUnavailableException or OperationCanceledException)
            {
                throw new ServerStateException($"import into the etcd store failed ({ex.Message}), and removing what it wrote under {options.Prefix}/ failed too ({cleanup.Message}): remove it with 'etcdctl del --prefix {options.Prefix}/'");
            }
            if (ex is OperationCanceledException)
            {
                throw;
            }
            throw ex is ServerStateException ? ex : new ServerStateException($"import into the etcd store failed, nothing of it was kept: {ex.Message}");
        }
    }

    private static void Check(ServerStateDocument document)
    {
        if (document.Format != ServerStateDocument.FormatName || document.Version != ServerStateDocument.CurrentVersion)
        {
            throw new ServerStateException($"not a plan-server export this version reads (format \"{document.Format}\" version {document.Version}; expected \"{ServerStateDocument.FormatName}\" version {ServerStateDocument.CurrentVersion})");
        }
        foreach (var file in document.Files.Where(f => !ServerStateExport.FileNames.Contains(f.Path)))
        {
            throw new ServerStateException($"the export holds a file this version does not write: {file.Path}");
        }
    }

    private static async Task WriteRecordsAsync(ServerStateDocument document, IPlanStore plans, IOperationStore operations, ISnapshotCatalogStore catalog, CancellationToken cancellationToken)
    {
        foreach (var cluster in document.Clusters)
        {
            if (await plans.TryAddClusterAsync(cluster.ToRecord(), cancellationToken) is null)
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
            if (await operations.TryAddAsync(operation, cancellationToken) is null)
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
