using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Tools;

/// <summary>Runs the buf CLI that eng/install-prereqs.sh pins into .tools/npm.</summary>
public static class Buf
{
    /// <summary><c>buf lint</c> on protos/ with buf's default rules.</summary>
    public static Task<CommandResult> LintAsync(CancellationToken cancellationToken = default)
        => RunAsync(["lint"], Path.Combine(RepoPaths.Root, "protos"), cancellationToken);

    /// <summary>
    /// <c>buf curl</c> with the gRPC protocol, by server reflection; HTTP/2 prior knowledge for
    /// http:// URLs. <paramref name="extra"/> holds e.g. <c>--cacert</c> or <c>-H</c> (tests only: a
    /// real credential belongs in a header file, not argv).
    /// </summary>
    public static Task<CommandResult> CurlAsync(string url, string? data = null, IEnumerable<string>? extra = null, CancellationToken cancellationToken = default)
    {
        List<string> args = ["curl", "--protocol", "grpc", "--reflect", url];
        if (url.StartsWith("http://", StringComparison.Ordinal))
        {
            args.Add("--http2-prior-knowledge");
        }
        if (data is not null)
        {
            args.AddRange(["--data", data]);
        }
        args.AddRange(extra ?? []);
        return RunAsync(args, RepoPaths.Root, cancellationToken);
    }

    /// <summary>
    /// Writes <c>Authorization: Bearer &lt;token&gt;</c> to a new file made 0600 from the start, for
    /// <c>buf curl -H @&lt;path&gt;</c>: the token stays out of argv. Returns the <c>-H</c> arguments.
    /// </summary>
    public static IReadOnlyList<string> WriteBearerHeaderFile(string path, string token)
    {
        using (var file = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        using (var writer = new StreamWriter(file))
        {
            writer.Write($"Authorization: Bearer {token}\n");
        }
        return ["-H", "@" + path];
    }

    public static Task<CommandResult> RunAsync(IEnumerable<string> arguments, string workingDirectory, CancellationToken cancellationToken = default)
        => CommandRunner.RunAsync(RepoPaths.NpmTool("buf"), arguments,
            new Dictionary<string, string?> { ["BUF_CACHE_DIR"] = Path.Combine(RepoPaths.Root, ".tools", "buf-cache") },
            workingDirectory: workingDirectory, timeout: TestTimeouts.Slow, cancellationToken: cancellationToken);
}
