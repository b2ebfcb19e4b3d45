using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Tools;

/// <summary>Runs the buf CLI that eng/install-prereqs.sh pins into .tools/npm.</summary>
public static class Buf
{
    /// <summary><c>buf lint</c> on protos/ with buf's default rules.</summary>
    public static Task<CommandResult> LintAsync(CancellationToken cancellationToken = default)
        => RunAsync(["lint"], Path.Combine(RepoPaths.Root, "protos"), cancellationToken);

    /// <summary>
    /// <c>buf curl</c> over HTTP/2 without TLS, by server reflection. <paramref name="headers"/> are
    /// passed with -H (tests only: a real credential would belong in a header file, not argv).
    /// </summary>
    public static Task<CommandResult> CurlAsync(string url, string? data = null, IEnumerable<string>? extra = null, CancellationToken cancellationToken = default)
    {
        List<string> args = ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect", url];
        if (data is not null)
        {
            args.AddRange(["--data", data]);
        }
        args.AddRange(extra ?? []);
        return RunAsync(args, RepoPaths.Root, cancellationToken);
    }

    public static Task<CommandResult> RunAsync(IEnumerable<string> arguments, string workingDirectory, CancellationToken cancellationToken = default)
        => CommandRunner.RunAsync(RepoPaths.NpmTool("buf"), arguments,
            new Dictionary<string, string?> { ["BUF_CACHE_DIR"] = Path.Combine(RepoPaths.Root, ".tools", "buf-cache") },
            workingDirectory: workingDirectory, timeout: TestTimeouts.Slow, cancellationToken: cancellationToken);
}
