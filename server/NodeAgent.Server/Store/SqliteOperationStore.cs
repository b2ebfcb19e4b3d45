using System.Text.Json;
using Google.Protobuf;
using Microsoft.Data.Sqlite;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Store;

/// <summary>Operations in the embedded SQLite database.</summary>
internal sealed class SqliteOperationStore(SqliteDatabase database) : IOperationStore
{
    private const int SqliteConstraint = 19;

    public async Task<OperationRecord?> TryAddAsync(OperationRecord operation, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO operations (id, cluster, active, created_at, phase_deadline, compress, state, restore, restore_progress, instructions, revision)
            VALUES ($id, $cluster, $active, $created, $deadline, $compress, $state, $restore, $progress, $instructions, 1)
            """;
        Bind(command, operation);
        try
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
            return operation with { Revision = 1 };
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == SqliteConstraint)
        {
            return null;
        }
    }

    public async Task<OperationRecord?> GetAsync(string id, CancellationToken cancellationToken)
        => First(await QueryAsync("WHERE id = $p", id, cancellationToken));

    public async Task<OperationRecord?> GetActiveAsync(string cluster, CancellationToken cancellationToken)
        => First(await QueryAsync("WHERE cluster = $p AND active = 1", cluster, cancellationToken));

    private static OperationRecord? First(IReadOnlyList<OperationRecord> rows) => rows.Count == 0 ? null : rows[0];

    public Task<IReadOnlyList<OperationRecord>> ListAsync(string cluster, bool activeOnly, CancellationToken cancellationToken)
        => QueryAsync(activeOnly ? "WHERE cluster = $p AND active = 1 ORDER BY created_at DESC"
            : "WHERE cluster = $p ORDER BY created_at DESC", cluster, cancellationToken);

    public Task<IReadOnlyList<OperationRecord>> ListActiveAsync(CancellationToken cancellationToken)
        => QueryAsync("WHERE active = 1 ORDER BY created_at", null, cancellationToken);

    public async Task<OperationRecord> UpdateAsync(OperationRecord operation, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE operations SET active = $active, phase_deadline = $deadline, compress = $compress, state = $state, restore = $restore,
                restore_progress = $progress, instructions = $instructions, revision = revision + 1
            WHERE id = $id AND revision = $revision
            """;
        Bind(command, operation);
        command.Parameters.AddWithValue("$revision", operation.Revision);
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new StoreConflictException($"operation '{operation.Id}'");
        }
        return operation with { Revision = operation.Revision + 1 };
    }

    private async Task<IReadOnlyList<OperationRecord>> QueryAsync(string where, string? parameter, CancellationToken cancellationToken)
    {
        await using var connection = database.Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT phase_deadline, compress, state, restore, restore_progress, instructions, revision FROM operations {where}";
        if (parameter is not null)
        {
            command.Parameters.AddWithValue("$p", parameter);
        }
        var result = new List<OperationRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new OperationRecord(
                Operation.Parser.ParseFrom((byte[])reader[2]),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(0)),
                reader.GetInt64(1) != 0,
                reader.IsDBNull(3) ? null : JsonSerializer.Deserialize(reader.GetString(3), StoreJsonContext.Default.RestoreSource))
            {
                Progress = reader.IsDBNull(4) ? null : JsonSerializer.Deserialize(reader.GetString(4), StoreJsonContext.Default.RestoreProgress),
                // NULL: written by a version that kept no instruction lists (the engine computes the current phase's once).
                Instructions = reader.IsDBNull(5) ? null : JsonSerializer.Deserialize(reader.GetString(5), StoreJsonContext.Default.NodeInstructionsArray),
                Revision = reader.GetInt64(6),
            });
        }
        return result;
    }

    private static void Bind(SqliteCommand command, OperationRecord operation)
    {
        command.Parameters.AddWithValue("$id", operation.Id);
        command.Parameters.AddWithValue("$cluster", operation.Cluster);
        command.Parameters.AddWithValue("$active", operation.IsActive ? 1 : 0);
        command.Parameters.AddWithValue("$created", operation.State.CreatedAt.ToDateTimeOffset().ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$deadline", operation.PhaseDeadline.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$compress", operation.Compress ? 1 : 0);
        command.Parameters.AddWithValue("$state", operation.State.ToByteArray());
        command.Parameters.AddWithValue("$restore", operation.Restore is { } restore
            ? JsonSerializer.Serialize(restore, StoreJsonContext.Default.RestoreSource)
            : DBNull.Value);
        command.Parameters.AddWithValue("$progress", operation.Progress is { } progress
            ? JsonSerializer.Serialize(progress, StoreJsonContext.Default.RestoreProgress)
            : DBNull.Value);
        command.Parameters.AddWithValue("$instructions", operation.Instructions is { } instructions
            ? JsonSerializer.Serialize(instructions.ToArray(), StoreJsonContext.Default.NodeInstructionsArray)
            : DBNull.Value);
    }
}

/// <summary>Source-generated JSON for what the store keeps as JSON.</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(RestoreSource))]
[System.Text.Json.Serialization.JsonSerializable(typeof(RestoreProgress))]
[System.Text.Json.Serialization.JsonSerializable(typeof(NodeInstructions[]))]
internal sealed partial class StoreJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
