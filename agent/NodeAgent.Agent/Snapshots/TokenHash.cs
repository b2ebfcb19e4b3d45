using System.Security.Cryptography;
using System.Text;

namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// K3s's token hash (<c>pkg/util/token.go</c> GetTokenHash with <c>pkg/clientaccess</c> parseToken): the
/// password part of the server token, sha256, the first 12 hex characters. A full token
/// <c>K10&lt;ca-hash&gt;::&lt;user&gt;:&lt;password&gt;</c> gives what follows the first ':' after "::" (the password
/// may hold more colons); a bare token is all password (K3s reads it as <c>K10:::&lt;token&gt;</c>, an empty
/// user), colons included. A restorer compares it to tell which token a snapshot needs.
/// </summary>
internal static class TokenHash
{
    public static string Of(string token)
    {
        var text = token.Trim();
        if (text.StartsWith("K10", StringComparison.Ordinal) && text.Contains("::", StringComparison.Ordinal))
        {
            text = text[(text.IndexOf("::", StringComparison.Ordinal) + 2)..];
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0)
            {
                text = text[(colon + 1)..];
            }
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];
    }

    /// <summary>The hash of <c>&lt;data-dir&gt;/server/token</c>, or "" when the runtime has none (plain etcd).</summary>
    public static string FromDataDir(string dataDir)
    {
        var path = Path.Combine(dataDir, "server", "token");
        return File.Exists(path) ? Of(File.ReadAllText(path)) : "";
    }
}
