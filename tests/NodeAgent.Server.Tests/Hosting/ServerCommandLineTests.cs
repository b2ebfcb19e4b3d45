using NodeAgent.Testing;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Server.Tests;

public sealed class ServerCommandLineTests
{
    [Theory]
    [InlineData(new[] { "--plaintext", "--listen", "0.0.0.0:9180" }, "--plaintext is allowed on a loopback address only")]
    [InlineData(new[] { "--listen", "localhost:9180" }, "is not HOST:PORT with a numeric IP address")]
    [InlineData(new[] { "--listen", "127.0.0.1:9180", "--metrics-listen", "127.0.0.1:9180" }, "--metrics-listen '127.0.0.1:9180' is not HOST:PORT with a numeric IP address and a port other than --listen's")]
    [InlineData(new[] { "--metrics-listen", "metrics:9181" }, "--metrics-listen 'metrics:9181' is not")]
    [InlineData(new[] { "--tls-cert-file", "/nonexistent.crt" }, "--tls-cert-file and --tls-key-file go together")]
    [InlineData(new[] { "--node-unreachable-after", "3 minutes" }, "plan-server: --node-unreachable-after '3 minutes' is not a duration such as 90s, 3m or 1h")]
    [InlineData(new[] { "--node-unreachable-after", "0s" }, "plan-server: --node-unreachable-after '0s' is not a duration such as 90s, 3m or 1h")]
    [InlineData(new[] { "--s3-list-interval", "ten minutes" }, "plan-server: --s3-list-interval 'ten minutes' is not a duration like 30s, 10m or 1h30m")]
    [InlineData(new[] { "--s3-list-interval", "1s" }, "plan-server: --s3-list-interval must be between 10s and 24h")]
    public async Task PlanServer_InvalidStartOptions_ExitsNonZeroWithOneClearLine(string[] args, string expected)
    {
        using var dataDir = new TempDir();

        var result = await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["--data-dir", dataDir.Path, .. args]).DefaultTimeout();

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dataDir.Path));
    }

    [Fact]
    public async Task PlanServer_Help_DescribesTheOptions()
    {
        var result = (await CommandRunner.RunAsync(RepoPaths.Executable("plan-server"), ["--help"]).DefaultTimeout()).EnsureSuccess();

        foreach (var option in new[] { "--data-dir", "--listen", "--metrics-listen", "--plaintext", "--tls-san", "--tls-cert-file", "--tls-key-file", "--node-unreachable-after", "--s3-list-interval" })
        {
            Assert.Contains(option, result.StandardOutput, StringComparison.Ordinal);
        }
    }
}
