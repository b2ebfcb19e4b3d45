using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Hosting;

/// <summary>
/// <c>&lt;data-dir&gt;/plan-server.lock</c>, held (flock) while the server runs, so a second
/// plan-server on the same data dir stops at start instead of sharing the database.
/// </summary>
internal sealed class DataDirLock : IDisposable
{
    public const string FileName = "plan-server.lock";

    private readonly FileStream _file;

    private DataDirLock(FileStream file) => _file = file;

    public static DataDirLock Acquire(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix, released when the file closes.
            return new DataDirLock(new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            }));
        }
        catch (IOException)
        {
            throw new StartupRefusedException($"{dataDir} is in use by another plan-server (it holds {path})");
        }
    }

    public void Dispose() => _file.Dispose();
}
