using System.Security.Cryptography;
using System.Text;

namespace NodeAgent.Server.Security;

/// <summary>Random credentials and their hashes. Credentials are compared only as hashes, in constant time.</summary>
internal static class Secrets
{
    /// <summary>A new random credential: 32 bytes, base64url, with a readable prefix (e.g. "na-node-").</summary>
    public static string NewToken(string prefix)
        => prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Lowercase hex sha256 of the UTF-8 text.</summary>
    public static string Sha256Hex(string value)
        => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)));

    public static bool FixedTimeEquals(string a, string b)
        => CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
