namespace NodeAgent.Agent.Config;

/// <summary>
/// What the config gave that the agent accepts but does not use (deprecated keys, as K3s keeps a deprecated flag: an old
/// config still starts), told once when the agent starts so a key that does nothing is never silent.
/// </summary>
internal static partial class AgentConfigWarnings
{
    /// <summary>Why <c>service-stop-command</c> does nothing: no step stops the runtime by its service any more.</summary>
    public const string ServiceStopCommandIgnored = "it is deprecated: no restore step stops the runtime by its service any more (a restore runs killall-script, "
        + "then service-start-command); remove it from the config";

    /// <summary>One warning per ignored key of <paramref name="options"/>.</summary>
    public static void Report(AgentOptions options, ILogger logger)
    {
        foreach (var (key, reason) in options.IgnoredKeys)
        {
            LogIgnoredKey(logger, key, reason);
        }
    }
}
