using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Steps;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>The runner of the runtime's commands, with real processes.</summary>
public sealed class ProcessRunnerTests
{
    private readonly ProcessRunner _runner = new(TimeProvider.System, NullLogger<ProcessRunner>.Instance);

    [Fact]
    public async Task RunAsync_Exits_GivesTheExitCodeTheTailsAndTheEnvironmentAdded()
    {
        var result = await _runner.RunAsync(CommandSpec.Shell("echo \"out $EXTRA\"; echo err >&2; exit 4") with
        {
            Environment = new Dictionary<string, string> { ["EXTRA"] = "value" },
        }, CancellationToken.None).WithTimeout(TestTimeouts.Default);

        Assert.Equal(4, result.ExitCode);
        Assert.Equal("out value\n", result.StdoutTail);
        Assert.Equal("err\n", result.StderrTail);
        var outcome = result.ToOutcome("fine", retryable: true);
        Assert.Equal("/bin/sh -c echo \"out $EXTRA\"; echo err >&2; exit 4 exited 4: err", outcome.Message);
        Assert.Equal(4, outcome.ExitCode);
    }

    [Fact]
    public async Task RunAsync_AgentSettingsInTheEnvironment_AreNotPassedOn()
    {
        const string Canary = "NODEAGENT_RESTORE_TEST_CANARY";
        Environment.SetEnvironmentVariable(Canary, "secret");
        try
        {
            var result = await _runner.RunAsync(CommandSpec.Shell("env"), CancellationToken.None).WithTimeout(TestTimeouts.Default);

            Assert.DoesNotContain(Canary, result.StdoutTail, StringComparison.Ordinal);
            Assert.Contains("PATH=", result.StdoutTail, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Canary, null);
        }
    }

    [Fact]
    public async Task RunAsync_Cancelled_KillsTheWholeTreeAndSaysWhatItPrinted()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(1));

        var ex = await Assert.ThrowsAsync<StepCancelledException>(() => _runner.RunAsync(
            CommandSpec.Shell("sleep 300 & echo \"child $!\"; echo waiting >&2; wait"), deadline.Token).WithTimeout(TestTimeouts.Default));

        Assert.Contains("was killed before it finished", ex.Message, StringComparison.Ordinal);
        Assert.Equal("waiting\n", ex.StderrTail);
        var child = int.Parse(ex.StdoutTail.Trim().Split(' ')[1], CultureInfo.InvariantCulture);
        Assert.True(IsGone(child), $"child {child} still runs");
    }

    [Fact]
    public async Task RunAsync_BackgroundDaemonHoldsThePipe_ReturnsAfterTheGraceWithTheOutput()
    {
        var result = await _runner.RunAsync(CommandSpec.Shell("sleep 60 & echo \"daemon $!\""), CancellationToken.None).WithTimeout(TestTimeouts.Default);
        var daemon = int.Parse(result.StdoutTail.Trim().Split(' ')[1], CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(daemon);
        process.Kill();

        Assert.Equal(0, result.ExitCode);
    }

    [Fact]
    public async Task RunAsync_MissingProgram_ThrowsCommandStartException()
    {
        var ex = await Assert.ThrowsAsync<CommandStartException>(() => _runner.RunAsync(new CommandSpec("/nonexistent/k3s", ["server"]), CancellationToken.None));

        Assert.Contains("cannot run /nonexistent/k3s", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TailBuffer_KeepsTheLastBytesInOrder()
    {
        var tail = new TailBuffer(8);

        tail.Append("0123"u8);
        tail.Append("456789"u8);
        var afterWrap = tail.ToString();
        tail.Append("abcdefghijklmnop"u8);

        Assert.Equal("…23456789", afterWrap);
        Assert.Equal("…ijklmnop", tail.ToString());
    }

    private static bool IsGone(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        // A killed process not yet reaped by init is a zombie: gone for our purpose.
        return !File.Exists(stat) || File.ReadAllText(stat).Split(' ')[2] == "Z";
    }
}
