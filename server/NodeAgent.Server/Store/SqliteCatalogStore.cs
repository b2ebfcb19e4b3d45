using Google.Protobuf;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Store;

/// <summary>The snapshot catalog in the embedded SQLite database.</summary>
internal sealed class SqliteCatalogStore(SqliteDatabase database) : ISnapshotCatalogStore
{
    public async Task ReplaceInventoryAsync(string cluster, string node, IReadOnlyList<Snapshot> snapshots, bool includesS3, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var transaction = connection.BeginTransaction();
        await using (var delete = connection.CreateCommand())
        {
            delete.Transaction = transaction;
            delete.CommandText = includesS3
                ? "DELETE FROM snapshots WHERE cluster = $cluster AND ((storage = $local AND reported_by = $node) OR storage = $s3)"
                : "DELETE FROM snapshots WHERE cluster = $cluster AND storage = $local AND reported_by = $node";
            delete.Parameters.AddWithValue("$cluster", cluster);
            delete.Parameters.AddWithValue("$node", node);
            delete.Parameters.AddWithValue("$local", (int)StorageKind.Local);
            delete.Parameters.AddWithValue("$s3", (int)StorageKind.S3);
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        foreach (var snapshot in snapshots.Where(s => includesS3 || s.Storage == StorageKind.Local))
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = """
                INSERT OR REPLACE INTO snapshots (cluster, storage, location, node, reported_by, created_at, snapshot)
                VALUES ($cluster, $storage, $location, $node, $reportedBy, $created, $snapshot)
                """;
            insert.Parameters.AddWithValue("$cluster", cluster);
            insert.Parameters.AddWithValue("$storage", (int)snapshot.Storage);
            insert.Parameters.AddWithValue("$location", snapshot.Location);
            insert.Parameters.AddWithValue("$node", snapshot.Node);
            insert.Parameters.AddWithValue("$reportedBy", node);
            insert.Parameters.AddWithValue("$created", snapshot.CreatedAt?.ToDateTimeOffset().ToUnixTimeSeconds() ?? 0);
            insert.Parameters.AddWithValue("$snapshot", snapshot.ToByteArray());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task SaveConfigurationsAsync(IReadOnlyDictionary<string, string> bySha256, CancellationToken cancellationToken)
    {
        if (bySha256.Count == 0)
        {
            return;
        }
        await using var connection = database.Open();
        await using var transaction = connection.BeginTransaction();
        foreach (var (sha256, text) in bySha256)
        {
            await using var insert = connection.CreateCommand();
            insert.Transaction = transaction;
            insert.CommandText = "INSERT OR IGNORE INTO cluster_configurations (sha256, text) VALUES ($sha256, $text)";
            insert.Parameters.AddWithValue("$sha256", sha256);
            insert.Parameters.AddWithValue("$text", text);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<string?> GetConfigurationAsync(string sha256, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT text FROM cluster_configurations WHERE sha256 = $sha256";
        command.Parameters.AddWithValue("$sha256", sha256);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<IReadOnlyList<Snapshot>> ListAsync(string cluster, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT snapshot FROM snapshots WHERE cluster = $cluster ORDER BY created_at DESC, location";
        command.Parameters.AddWithValue("$cluster", cluster);
        var result = new List<Snapshot>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(Snapshot.Parser.ParseFrom((byte[])reader[0]));
        }
        return result;
    }
}
