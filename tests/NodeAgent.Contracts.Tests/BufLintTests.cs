using NodeAgent.Testing;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Contracts.Tests;

public sealed class BufLintTests
{
    [Fact]
    public async Task BufLint_DefaultRules_Passes()
    {
        var result = await Buf.LintAsync().WithTimeout(TestTimeouts.Slow);

        Assert.True(result.Succeeded, $"buf lint found problems:\n{result.StandardOutput}\n{result.StandardError}");
    }

    [Fact]
    public async Task BufBuild_AllFiles_DescribeEveryService()
    {
        // `buf build -o -#format=json` lists what the module defines: a contract that lost a
        // service or failed to compile would show here.
        var result = (await Buf.RunAsync(["build", "-o", "-#format=json"], Path.Combine(RepoPaths.Root, "protos"))
            .WithTimeout(TestTimeouts.Slow)).EnsureSuccess();

        foreach (var service in new[] { "AgentService", "ClusterService", "SnapshotService", "OperationService" })
        {
            Assert.Contains($"\"name\":\"{service}\"", result.StandardOutput.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
        }
    }
}
