using NodeAgent.Testing;
using NodeAgent.Testing.Processes;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// The shipped units pass <c>systemd-analyze verify</c> (offline, in a temporary root holding the
/// system's own units, ours, and executables at the paths ours name: systemd is not PID 1 here),
/// with no warning at all, and say what the agent's design needs.
/// </summary>
public sealed class SystemdUnitTests : IDisposable
{
    private readonly TempDir _root = new("nodeagent-sdroot-");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Units_PassSystemdAnalyzeVerify_WithoutAWarning()
    {
        var units = _root.Combine("lib", "systemd", "system");
        Directory.CreateDirectory(_root.Combine("lib", "systemd"));
        (await CommandRunner.RunAsync("/bin/cp", ["-a", "/lib/systemd/system", _root.Combine("lib", "systemd")])).EnsureSuccess();
        foreach (var unit in new[] { "node-agent.service", "plan-server.service" })
        {
            File.Copy(Path.Combine(RepoPaths.Root, "systemd", unit), Path.Combine(units, unit), overwrite: true);
        }
        Directory.CreateDirectory(_root.Combine("usr", "bin"));
        foreach (var binary in new[] { "node-agent", "plan-server" })
        {
            File.Copy(RepoPaths.Executable(binary), _root.Combine("usr", "bin", binary));
        }

        var result = await CommandRunner.RunAsync("/usr/bin/systemd-analyze",
            ["verify", $"--root={_root.Path}", "/lib/systemd/system/node-agent.service", "/lib/systemd/system/plan-server.service"]).DefaultTimeout();

        Assert.True(result.ExitCode == 0 && result.StandardError.Trim().Length == 0 && result.StandardOutput.Trim().Length == 0,
            $"systemd-analyze verify: exit {result.ExitCode}\n{result.StandardOutput}\n{result.StandardError}");
    }

    [Fact]
    public void AgentUnit_IsNotifyWithWatchdog_RestartsAlways_AndOutlastsTheHostsShutdownTimeout()
    {
        var unit = Settings("node-agent.service");

        Assert.Equal("notify", unit["Type"]);
        Assert.Equal("always", unit["Restart"]);
        Assert.Equal("/usr/bin/node-agent run --config /etc/node-agent/config.yaml", unit["ExecStart"]);
        Assert.Equal("2min", unit["WatchdogSec"]);
        // systemd's DefaultTimeoutStopSec is 90 s.
        Assert.Equal("150s", unit["TimeoutStopSec"]);
        Assert.Equal("process", unit["KillMode"]);
        Assert.Equal("0077", unit["UMask"]);
    }

    [Fact]
    public void ServerUnit_RunsAsATransientUserWithNoCapabilities()
    {
        var unit = Settings("plan-server.service");

        Assert.Equal("notify", unit["Type"]);
        Assert.Equal("yes", unit["DynamicUser"]);
        Assert.Equal("", unit["CapabilityBoundingSet"]);
        Assert.Equal("strict", unit["ProtectSystem"]);
    }

    private static Dictionary<string, string> Settings(string unit)
        => File.ReadAllLines(Path.Combine(RepoPaths.Root, "systemd", unit))
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0].Trim(), p => p[1].Trim());
}
