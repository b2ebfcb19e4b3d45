using System.Text.RegularExpressions;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// The K3s/RKE2 version a binary reports: <c>&lt;rt&gt; --version</c> prints
/// "k3s version v1.30.4+k3s1 (hash)" (rke2: "rke2 version v1.30.4+rke2r1 (hash)") on its first line;
/// the version is the third word.
/// </summary>
internal static partial class RuntimeVersion
{
    /// <summary>What a restore may name as a version: v, three numbers, then letters, digits and <c>.+-</c> (never a shell metacharacter).</summary>
    public static bool IsValid(string version) => ValidVersion().IsMatch(version);

    /// <summary>The version in the first line of <c>--version</c>'s output, or null when it is not "&lt;name&gt; version &lt;v&gt; …".</summary>
    public static string? Parse(string output)
    {
        var first = output.TrimStart().Split('\n')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return first.Length >= 3 && first[1] == "version" && IsValid(first[2]) ? first[2] : null;
    }

    /// <summary>
    /// Runs <c>&lt;binary&gt; --version</c>: the version, or null with the reason (not installed, the
    /// command failed, output not understood).
    /// </summary>
    public static async Task<(string? Version, string? Problem)> ReadAsync(ProcessRunner runner, string binary, CancellationToken cancellationToken)
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
        return Parse(result.StdoutTail) is { } version
            ? (version, null)
            : (null, $"{binary} --version printed \"{result.StdoutTail.Trim().Split('\n')[0]}\", not \"<name> version v<x.y.z…> …\"");
    }

    [GeneratedRegex(@"^v[0-9]+\.[0-9]+\.[0-9]+[0-9A-Za-z.+\-]*$")]
    private static partial Regex ValidVersion();
}
