namespace NodeAgent.Server.Files;

/// <summary>The one way the server makes a file that holds state or secrets: new (never over one that exists), mode 0600 from the start.</summary>
internal static class PrivateFile
{
    public static FileStream CreateNew(string path) => new(path, new FileStreamOptions
    {
        Mode = FileMode.CreateNew,
        Access = FileAccess.Write,
        UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
    });
}
