using Microsoft.Data.Sqlite;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Hosting;
using NodeAgent.Server.Security;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Backup;

/// <summary>
/// Reads a data dir into a <see cref="ServerStateDocument"/>, while its server runs or not: the
/// records come from a point-in-time copy of the database (<c>VACUUM INTO</c>, which reads one
/// snapshot of it however the server writes meanwhile), made in the data dir and removed after.
/// </summary>
internal static class ServerStateExport
{
    /// <summary>The data dir's files an import needs: the operators' token and the CA agents pin (the serving certificate is made again from it).</summary>
    public static readonly string[] FileNames =
    [
        AdminToken.FileName,
        Path.Combine(ServerTls.Directory, ServerTls.CaCertFile),
        Path.Combine(ServerTls.Directory, ServerTls.CaKeyFile),
    ];

    /// <exception cref="ServerStateException">The data dir holds no plan-server database, or it cannot be read.</exception>
    public static async Task<ServerStateDocument> ReadAsync(string dataDir, TimeProvider time, CancellationToken cancellationToken)
    {
        var database = Path.Combine(dataDir, ServerFeatures.DatabaseFileName);
        if (!File.Exists(database))
        {
            throw new ServerStateException($"{dataDir} holds no plan-server database ({ServerFeatures.DatabaseFileName})");
        }
        var copy = Path.Combine(dataDir, $".export-{Guid.NewGuid():N}.db");
        try
        {
            await CopyAsync(database, copy, cancellationToken);
            var snapshot = new SqliteDatabase(copy, usedBefore: null);
            var document = await ReadRecordsAsync(new SqlitePlanStore(snapshot), new SqliteOperationStore(snapshot), new SqliteCatalogStore(snapshot), time, cancellationToken);
            foreach (var name in FileNames.Where(n => File.Exists(Path.Combine(dataDir, n))))
            {
                document.Files.Add(new StateFile(name, Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(dataDir, name), cancellationToken))));
            }
            return document;
        }
        catch (SqliteException ex)
        {
            throw new ServerStateException($"cannot read {database}: {ex.Message}");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(copy + suffix);
            }
        }
    }

    private static async Task CopyAsync(string database, string copy, CancellationToken cancellationToken)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, DefaultTimeout = 30 }.ToString());
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "VACUUM INTO $copy";
        command.Parameters.AddWithValue("$copy", copy);
        await command.ExecuteNonQueryAsync(cancellationToken);
        File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    /// <summary>
    /// The etcd store's state, every record read at one revision (a point in time, as replicas go on
    /// writing), with the files the replicas share from the store.
    /// </summary>
    public static async Task<ServerStateDocument> ReadAsync(Store.Etcd.EtcdStoreOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        using var etcd = new Store.Etcd.EtcdConnection(options);
        var keys = new Store.Etcd.EtcdKeys(options.Prefix);
        try
        {
            etcd.ReadRevision = (await etcd.RangeAsync(Store.Etcd.Kv.Get(keys.Health), cancellationToken)).Header.Revision;
            var document = await ReadRecordsAsync(new Store.Etcd.EtcdPlanStore(etcd, keys), new Store.Etcd.EtcdOperationStore(etcd, keys), new Store.Etcd.EtcdCatalogStore(etcd, keys), time, cancellationToken);
            foreach (var kv in (await etcd.RangeAsync(Store.Etcd.Kv.Prefix(keys.ServerFiles), cancellationToken)).Kvs)
            {
                document.Files.Add(new StateFile(Store.Etcd.Kv.Text(kv.Key)[keys.ServerFiles.Length..], kv.Value.ToBase64()));
            }
            if (document.Clusters.Count == 0 && document.Files.Count == 0)
            {
                throw new ServerStateException($"the etcd store holds no plan-server state under {options.Prefix}");
            }
            return document;
        }
        catch (Errors.StoreUnavailableException ex)
        {
            throw new ServerStateException(ex.Message);
        }
    }

    private static async Task<ServerStateDocument> ReadRecordsAsync(IPlanStore plans, IOperationStore operations, ISnapshotCatalogStore catalog, TimeProvider time, CancellationToken cancellationToken)
    {
        var document = new ServerStateDocument { ExportedAt = time.GetUtcNow() };
        foreach (var cluster in await plans.ListClustersAsync(cancellationToken))
        {
            document.Clusters.Add(ClusterEntry.Of(cluster));
            document.Nodes.AddRange(await plans.ListNodesAsync(cluster.Name, cancellationToken));
            // Oldest first, so an import adds them in the order they were made.
            document.Operations.AddRange((await operations.ListAsync(cluster.Name, activeOnly: false, cancellationToken)).Reverse().Select(OperationEntry.Of));
            foreach (var snapshot in await catalog.ListAsync(cluster.Name, cancellationToken))
            {
                document.Snapshots.Add(new SnapshotEntry(cluster.Name, Convert.ToBase64String(Google.Protobuf.MessageExtensions.ToByteArray(snapshot))));
                var sha256 = snapshot.ClusterConfigurationSha256;
                if (sha256.Length > 0 && !document.ClusterConfigurations.ContainsKey(sha256)
                    && await catalog.GetConfigurationAsync(sha256, cancellationToken) is { } text)
                {
                    document.ClusterConfigurations[sha256] = text;
                }
            }
        }
        return document;
    }
}

/// <summary>An export or import that cannot be done, with the reason (a non-zero exit, nothing half-written kept).</summary>
internal sealed class ServerStateException(string message) : Exception(message);
