using NodeAgent.Server.Errors;
using NodeAgent.Server.Files;

namespace NodeAgent.Server.Security;

/// <summary>
/// The operator credential: <c>&lt;data-dir&gt;/admin-token</c>, mode 0600, created on first start
/// (like K3s's server token file) and read on every later start.
/// </summary>
internal sealed class AdminToken
{
    public const string FileName = "admin-token";

    private AdminToken(string value) => Value = value;

    public string Value { get; }

    public static AdminToken LoadOrCreate(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        if (File.Exists(path))
        {
            return new AdminToken(Read(path));
        }
        var token = Secrets.NewToken("na-admin-");
        using (var stream = PrivateFile.CreateNew(path))
        using (var writer = new StreamWriter(stream))
        {
            writer.WriteLine(token);
        }
        return new AdminToken(token);
    }

    /// <summary>The token in an existing file, or a refusal that names the file and what is wrong with it.</summary>
    private static string Read(string path)
    {
        const string Need = "it must hold the operator token (16 or more printable characters): put the token back, or delete the file to have a new one made";
        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
        {
            throw new StartupRefusedException(
                $"{path} is readable or writable by group or others (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}); chmod 0600 it");
        }
        string token;
        try
        {
            // One token, with the line end an editor may add.
            token = File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StartupRefusedException($"{path} cannot be read: {ex.Message}");
        }
        if (token.Length == 0)
        {
            throw new StartupRefusedException($"{path} is empty; {Need}");
        }
        if (token.Any(c => c is < '!' or > '~'))
        {
            throw new StartupRefusedException($"{path} holds characters a bearer token cannot carry (spaces, control or non-ASCII characters); {Need}");
        }
        if (token.Length < 16)
        {
            throw new StartupRefusedException($"{path} holds a token shorter than 16 characters; {Need}");
        }
        return token;
    }
}
