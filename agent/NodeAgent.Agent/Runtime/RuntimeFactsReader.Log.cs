namespace NodeAgent.Agent.Runtime;

internal sealed partial class RuntimeFactsReader
{
    [LoggerMessage(EventId = 1701, Level = LogLevel.Warning, Message = "The runtime's config cannot be read ({Problem}); the node's advertise address is the host's primary address and runtime snapshots are reported off until it can")]
    private static partial void LogConfigUnreadable(ILogger logger, string problem);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Warning, Message = "The runtime's version is unknown ({Problem}); it is reported empty")]
    private static partial void LogVersionUnknown(ILogger logger, string problem);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Warning, Message = "{Runtime}'s own scheduled etcd snapshots are on ({Config} does not set etcd-disable-snapshots: true): {Runtime} and NodeAgent both save etcd-snapshot-<node>-<unix> files in the same dir and both prune that prefix, so each one's retention deletes the other's snapshots. Set 'etcd-disable-snapshots: true' in {Config} and restart {Runtime} to leave the schedule to NodeAgent")]
    private static partial void LogRuntimeSnapshotsOn(ILogger logger, string runtime, string config);
}
