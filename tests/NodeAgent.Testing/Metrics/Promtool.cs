using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Metrics;

/// <summary>Prometheus's own tools (Debian's prometheus package, installed by eng/install-prereqs.sh).</summary>
public static class Promtool
{
    /// <summary><c>promtool check metrics</c>: the exposition format and Prometheus's naming conventions.</summary>
    public static Task<CommandResult> CheckMetricsAsync(string scrape, CancellationToken cancellationToken = default)
        => CommandRunner.RunAsync("promtool", ["check", "metrics"], standardInput: scrape, timeout: TestTimeouts.Default, cancellationToken: cancellationToken);
}
