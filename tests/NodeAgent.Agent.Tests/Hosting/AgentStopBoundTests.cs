using NodeAgent.Agent.Hosting;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Hosting;

/// <summary>The shipped unit gives the agent's stop bound room to report and exit before systemd's SIGKILL.</summary>
public sealed class AgentStopBoundTests
{
    [Fact]
    public void AgentUnit_TimeoutStopSec_OutlastsTheAgentsStopBoundWithTimeToReportAndExit()
    {
        var timeoutStopSec = File.ReadAllLines(Path.Combine(RepoPaths.Root, "systemd", "node-agent.service"))
            .Select(l => l.Trim())
            .Single(l => l.StartsWith("TimeoutStopSec=", StringComparison.Ordinal))["TimeoutStopSec=".Length..];
        var timeoutStop = TimeSpan.FromSeconds(int.Parse(timeoutStopSec.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture));

        // The host aborts the step in hand at StopBound; systemd's SIGKILL must come later still.
        Assert.Equal(TimeSpan.FromMinutes(2), AgentHost.StopBound);
        Assert.True(timeoutStop - AgentHost.StopBound >= TimeSpan.FromSeconds(30), $"TimeoutStopSec {timeoutStop} leaves too little after {AgentHost.StopBound}");
    }
}
