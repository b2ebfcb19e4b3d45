using System.Text.RegularExpressions;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// The runtime's version as <c>&lt;runtime-binary&gt; --version</c> prints it on its first line,
/// "k3s version v1.30.4+k3s1 (hash)" or "rke2 version v1.30.4+rke2r1 (hash)" → "v1.30.4+k3s1".
/// The answer is cached by the binary's modification time and size, so it is asked again only
/// after the binary changed (an install).
/// </summary>
internal sealed partial class RuntimeVersion(ProcessRunner runner)
{
    private readonly Lock _gate = new();
    private (DateTime ModifiedUtc, long Size, string Version)? _cached;

    /// <summary>The version, or "" when the binary is not installed.</summary>
    /// <exception cref="RuntimeVersionException">The binary could not run or said no version (<see cref="AskAsync"/>'s reason).</exception>
    public async Task<string> ReadAsync(string binary, CancellationToken cancellationToken)
    {
        var file = new FileInfo(binary);
        if (!file.Exists)
        {
            return "";
        }
        lock (_gate)
        {
            if (_cached is { } c && c.ModifiedUtc == file.LastWriteTimeUtc && c.Size == file.Length)
            {
                return c.Version;
            }
        }
        var (version, problem) = await AskAsync(runner, binary, cancellationToken);
        if (version is null)
        {
            throw new RuntimeVersionException(problem!);
        }
        lock (_gate)
        {
            _cached = (file.LastWriteTimeUtc, file.Length, version);
        }
        return version;
    }

    /// <summary>The version word of "&lt;name&gt; version &lt;v&gt; (...)" on the first line, or null.</summary>
    public static string? Parse(string output)
    {
        var words = FirstLine(output).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return words.Length >= 3 && words[1] == "version" && words[2].StartsWith('v') ? words[2] : null;
    }

    /// <summary>What a restore may name as a version: v, three numbers, then letters, digits and <c>.+-</c> (never a shell metacharacter).</summary>
    public static bool IsValid(string version) => ValidVersion().IsMatch(version);

    /// <summary>
    /// Runs <c>&lt;binary&gt; --version</c> now, uncached (a save records it; an install checks what it put
    /// there): the version, or null with the reason (not installed, the command failed, output not understood).
    /// </summary>
    public static async Task<(string? Version, string? Problem)> AskAsync(ProcessRunner runner, string binary, CancellationToken cancellationToken)
    {
        if (!File.Exists(binary))
        {
            return (null, $"{binary} does not exist");
        }
        CommandResult result;
        try
        {
            result = await runner.RunAsync(new CommandSpec(binary, ["--version"]), cancellationToken);
        }
        catch (CommandStartException ex)
        {
            return (null, ex.Message);
        }
        if (!result.Succeeded)
        {
            return (null, result.ToOutcome("", retryable: false).Message);
        }
        return Parse(result.StdoutTail) is { } version && IsValid(version)
            ? (version, null)
            : (null, $"{binary} --version printed \"{FirstLine(result.StdoutTail)}\", not \"<name> version v<x.y.z…> …\"");
    }

    private static string FirstLine(string text) => text.TrimStart().Split('\n', 2)[0].Trim();

    [GeneratedRegex(@"^v[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.+\-]*$")]
    private static partial Regex ValidVersion();
}

/// <summary>The runtime's binary did not say its version.</summary>
internal sealed class RuntimeVersionException(string message) : Exception(message);
