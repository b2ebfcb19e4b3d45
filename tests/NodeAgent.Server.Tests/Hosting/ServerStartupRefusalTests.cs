using Microsoft.Data.Sqlite;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Server.Tests;

/// <summary>
/// The real plan-server on a data dir that lived before but whose state is damaged: it refuses
/// to start with one line on stderr and exit code 1, instead of starting empty or half-working.
/// </summary>
public sealed class ServerStartupRefusalTests
{
    private const string Db = "plan-server.db";
    private const string AdminToken = "admin-token";

    [Fact]
    public async Task PlanServer_EmptyDatabaseInUsedDataDir_RefusesToStart()
    {
        using var dir = await UsedDataDirAsync();
        await File.WriteAllBytesAsync(dir.Combine(Db), []);

        await AssertRefusedAsync(dir,
            $"{dir.Combine(Db)} is empty but {dir.Path} was used before (admin-token exists); restore the database from a backup or move the data dir aside to start fresh");
    }

    [Fact]
    public async Task PlanServer_MissingDatabaseInUsedDataDir_RefusesToStart()
    {
        using var dir = await UsedDataDirAsync();
        File.Delete(dir.Combine(AdminToken));
        DeleteDatabase(dir);

        await AssertRefusedAsync(dir,
            $"{dir.Combine(Db)} is missing but {dir.Path} was used before (tls/ exists); restore the database from a backup or move the data dir aside to start fresh");
        Assert.False(File.Exists(dir.Combine(AdminToken)));
    }

    [Fact]
    public async Task PlanServer_DatabaseWithoutSchemaInUsedDataDir_RefusesToStart()
    {
        using var dir = await UsedDataDirAsync();
        DeleteDatabase(dir);
        using (var connection = new SqliteConnection($"Data Source={dir.Combine(Db)};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE unrelated (x INTEGER)";
            command.ExecuteNonQuery();
        }

        await AssertRefusedAsync(dir,
            $"{dir.Combine(Db)} holds no plan-server data but {dir.Path} was used before (admin-token exists); restore the database from a backup or move the data dir aside to start fresh");
    }

    [Fact]
    public async Task PlanServer_CorruptDatabase_RefusesWithTheSqliteMessage()
    {
        using var dir = await UsedDataDirAsync();
        DeleteDatabase(dir);
        await File.WriteAllBytesAsync(dir.Combine(Db), Enumerable.Repeat((byte)0x5a, 8192).ToArray());

        await AssertRefusedAsync(dir, $"{dir.Combine(Db)} is not a usable database: SQLite Error 26: 'file is not a database'.");
    }

    [Fact]
    public async Task PlanServer_DatabaseLockedByAnotherProcess_RefusesWithinTheBusyTimeout()
    {
        using var dir = await UsedDataDirAsync();
        using var connection = new SqliteConnection($"Data Source={dir.Combine(Db)};Pooling=False");
        connection.Open();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "BEGIN EXCLUSIVE";
            command.ExecuteNonQuery();
        }

        await AssertRefusedAsync(dir, $"{dir.Combine(Db)}: database is locked by another process (waited 5 s); stop that process (another plan-server, a sqlite3 shell) and start again");
    }

    [Fact]
    public async Task PlanServer_SecondServerOnTheSameDataDir_RefusesToStart()
    {
        using var dir = await UsedDataDirAsync();
        await using var first = await PlanServerProcess.StartAsync(dir.Path);

        await AssertRefusedAsync(dir, $"{dir.Path} is in use by another plan-server (it holds {dir.Combine("plan-server.lock")})");
    }

    [Theory]
    [InlineData("", "is empty; it must hold the operator token (16 or more printable characters): put the token back, or delete the file to have a new one made")]
    [InlineData("short\n", "holds a token shorter than 16 characters; it must hold the operator token (16 or more printable characters): put the token back, or delete the file to have a new one made")]
    [InlineData("na-admin-abc def ghi jkl\n", "holds characters a bearer token cannot carry (spaces, control or non-ASCII characters); it must hold the operator token (16 or more printable characters): put the token back, or delete the file to have a new one made")]
    public async Task PlanServer_BadAdminToken_RefusesNamingTheFile(string content, string expected)
    {
        using var dir = await UsedDataDirAsync();
        File.Delete(dir.Combine(AdminToken));
        await File.WriteAllTextAsync(dir.Combine(AdminToken), content);
        File.SetUnixFileMode(dir.Combine(AdminToken), UnixFileMode.UserRead | UnixFileMode.UserWrite);

        await AssertRefusedAsync(dir, $"{dir.Combine(AdminToken)} {expected}");
    }

    [Fact]
    public async Task PlanServer_AdminTokenReadableByOthers_RefusesNamingTheFile()
    {
        using var dir = await UsedDataDirAsync();
        File.SetUnixFileMode(dir.Combine(AdminToken), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        await AssertRefusedAsync(dir, $"{dir.Combine(AdminToken)} is readable or writable by group or others (mode 0604); chmod 0600 it");
    }

    /// <summary>A data dir a real plan-server started and stopped in.</summary>
    private static async Task<TempDir> UsedDataDirAsync()
    {
        var dir = new TempDir("nodeagent-refusal-");
        await using (var _ = await PlanServerProcess.StartAsync(dir.Path))
        {
        }
        return dir;
    }

    private static void DeleteDatabase(TempDir dir)
    {
        foreach (var file in new[] { Db, Db + "-wal", Db + "-shm" })
        {
            File.Delete(dir.Combine(file));
        }
    }

    private static async Task AssertRefusedAsync(TempDir dir, string expected)
    {
        var result = await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"),
            ["--data-dir", dir.Path, "--listen", $"127.0.0.1:{FreePorts.Next()}", "--metrics-listen", $"127.0.0.1:{FreePorts.Next()}"]).DefaultTimeout();

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"plan-server: {expected}", result.StandardError.TrimEnd('\n'));
    }
}
