namespace NodeAgent.Agent.Probes;

internal sealed partial class ProbeRunner
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Probe {Probe} failing: {Reason}")]
    private static partial void LogUnhealthy(ILogger logger, string probe, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Probe {Probe} healthy")]
    private static partial void LogHealthy(ILogger logger, string probe);
}
