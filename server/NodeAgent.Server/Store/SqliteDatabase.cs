using Microsoft.Data.Sqlite;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Files;

namespace NodeAgent.Server.Store;

/// <summary>
/// The embedded database: one SQLite file (<c>&lt;data-dir&gt;/plan-server.db</c>, mode 0600, WAL,
/// synchronous writes). A connection per call (pooled), so concurrent requests share none.
/// </summary>
internal sealed class SqliteDatabase
{
    /// <summary>How long a statement waits for another connection's lock before failing with "database is locked".</summary>
    private const int BusyTimeoutSeconds = 5;

    private const string FreshStartAdvice = "restore the database from a backup or move the data dir aside to start fresh";

    private readonly string _connectionString;

    /// <summary>Opens (or, in an unused data dir, creates) the database, refusing one that is lost, corrupt or locked.</summary>
    /// <param name="usedBefore">Why the data dir counts as used before ("admin-token exists"), or null for a fresh one.</param>
    public SqliteDatabase(string path, string? usedBefore)
    {
        var dataDir = Path.GetDirectoryName(path);
        if (!File.Exists(path))
        {
            if (usedBefore is not null)
            {
                throw new StartupRefusedException($"{path} is missing but {dataDir} was used before ({usedBefore}); {FreshStartAdvice}");
            }
            using var _ = PrivateFile.CreateNew(path);
        }
        else if (usedBefore is not null && new FileInfo(path).Length == 0)
        {
            throw new StartupRefusedException($"{path} is empty but {dataDir} was used before ({usedBefore}); {FreshStartAdvice}");
        }
        // DefaultTimeout bounds Microsoft.Data.Sqlite's own retries of a busy statement (30 s by
        // default), so a locked database fails after the busy timeout instead of outlasting callers.
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = BusyTimeoutSeconds }.ToString();
        try
        {
            using var connection = Open();
            Check(connection, path);
            if (usedBefore is not null && !HasTable(connection, "clusters"))
            {
                throw new StartupRefusedException($"{path} holds no plan-server data but {dataDir} was used before ({usedBefore}); {FreshStartAdvice}");
            }
            // Takes the write lock: a database another process holds fails here, at start.
            Execute(connection, "BEGIN IMMEDIATE; " + SqliteSchema.Create);
            foreach (var (table, column, definition) in SqliteSchema.AddedColumns)
            {
                if (!HasColumn(connection, table, column))
                {
                    Execute(connection, $"ALTER TABLE {table} ADD COLUMN {column} {definition}");
                }
            }
            Execute(connection, "COMMIT");
        }
        catch (SqliteException ex) when (IsLocked(ex))
        {
            throw new StartupRefusedException(
                $"{path}: database is locked by another process (waited {BusyTimeoutSeconds} s); stop that process (another plan-server, a sqlite3 shell) and start again");
        }
        catch (SqliteException ex)
        {
            throw new StartupRefusedException($"{path} is not a usable database: {ex.Message}");
        }
    }

    /// <summary>True for SQLITE_BUSY and SQLITE_LOCKED: another connection holds the lock.</summary>
    public static bool IsLocked(SqliteException ex) => ex.SqliteErrorCode is 5 or 6;

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Execute(connection, $"PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = {BusyTimeoutSeconds * 1000};");
        return connection;
    }

    /// <summary>Proves the database can be read and written now (the write lock is taken and given back).</summary>
    public async Task CheckWritableAsync(CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "BEGIN IMMEDIATE; SELECT count(*) FROM clusters; ROLLBACK;";
        await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>SQLite's quick_check: a damaged file is refused at start with SQLite's own words.</summary>
    private static void Check(SqliteConnection connection, string path)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA quick_check";
        var result = command.ExecuteScalar() as string;
        if (!string.Equals(result, "ok", StringComparison.Ordinal))
        {
            throw new StartupRefusedException($"{path} is corrupt: SQLite's quick_check says '{result}'; restore the database from a backup");
        }
    }

    private static bool HasTable(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $table";
        command.Parameters.AddWithValue("$table", table);
        return command.ExecuteScalar() is not null;
    }

    private static bool HasColumn(SqliteConnection connection, string table, string column)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT 1 FROM pragma_table_info('{table}') WHERE name = $column";
        command.Parameters.AddWithValue("$column", column);
        return command.ExecuteScalar() is not null;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
