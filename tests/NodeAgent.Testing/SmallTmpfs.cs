using System.Diagnostics;

namespace NodeAgent.Testing;

/// <summary>
/// A small tmpfs (1 MiB unless told) mounted on a fresh temporary directory, so a write past its size
/// fails with the real ENOSPC ("No space left on device"). Needs root, as the tests run; unmounted and
/// removed on dispose.
/// </summary>
public sealed class SmallTmpfs : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(30);
    private readonly TempDir _dir = new("nodeagent-tmpfs-");

    public SmallTmpfs(string size = "1m")
    {
        try
        {
            Run("mount", "-t", "tmpfs", "-o", $"size={size},mode=0700", "tmpfs", _dir.Path);
        }
        catch
        {
            _dir.Dispose();
            throw;
        }
    }

    public string Path => _dir.Path;

    public string Combine(params string[] parts) => _dir.Combine(parts);

    public void Dispose()
    {
        // Lazy: a file still open by a failed test does not keep the mount, or the dir, behind.
        Run("umount", "--lazy", _dir.Path);
        _dir.Dispose();
    }

    public override string ToString() => Path;

    private static void Run(string fileName, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(fileName, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill();
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish in {CommandTimeout}");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} exited with {process.ExitCode}: {stderr.Result.Trim()}");
        }
    }
}
