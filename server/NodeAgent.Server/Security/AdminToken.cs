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
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite)) != 0)
            {
                throw new InvalidOperationException($"{path} is readable or writable by group or others; chmod 0600 it.");
            }
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length < 16)
            {
                throw new InvalidOperationException($"{path} holds no usable token (fewer than 16 characters).");
            }
            return new AdminToken(existing);
        }
        var token = Secrets.NewToken("na-admin-");
        using (var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(stream))
        {
            writer.WriteLine(token);
        }
        return new AdminToken(token);
    }
}
