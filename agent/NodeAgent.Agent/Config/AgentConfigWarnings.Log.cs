namespace NodeAgent.Agent.Config;

internal static partial class AgentConfigWarnings
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Config key {Key} is ignored: {Reason}")]
    private static partial void LogIgnoredKey(ILogger logger, string key, string reason);
}
