using NodeAgent.Server.Security;

namespace NodeAgent.Server.Hosting;

/// <summary>What in a data dir shows that a server ran there before (so an empty database there is a loss, not a first start).</summary>
internal static class DataDirHistory
{
    /// <summary>"admin-token exists" or "tls/ exists"; null for a data dir no server has used.</summary>
    public static string? Evidence(string dataDir)
        => File.Exists(Path.Combine(dataDir, AdminToken.FileName)) ? $"{AdminToken.FileName} exists"
            : Directory.Exists(Path.Combine(dataDir, ServerTls.Directory)) ? $"{ServerTls.Directory}/ exists"
            : null;
}
