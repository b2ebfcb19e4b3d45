using Microsoft.Extensions.Logging;

namespace NodeAgent.Agent.Snapshots;

internal static partial class SnapshotTempFiles
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Temporary snapshot files are written in the snapshot dir {Directory} as <file>.part: {TempDirectory} is on another device, and a rename across devices is not possible; k3s etcd-snapshot ls may list a .part while a save or download runs")]
    private static partial void LogTempInSnapshotDir(ILogger logger, string directory, string tempDirectory);
}
