namespace NodeAgent.Testing;

/// <summary>A fresh temporary directory, removed (with everything in it) on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "nodeagent-test-")
    {
        Path = Directory.CreateTempSubdirectory(prefix).FullName;
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            // A daemon still shutting down may hold a file for a moment; leave it to /tmp cleaning.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    public override string ToString() => Path;
}
