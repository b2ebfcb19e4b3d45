namespace NodeAgent.Agent.Snapshots;

/// <summary>A request that cannot be carried out as asked (a bad name, an unknown snapshot, a missing dir).</summary>
internal sealed class SnapshotRequestException(string message) : Exception(message);

/// <summary>Another save holds this node's snapshot lock.</summary>
internal sealed class SnapshotInProgressException() : Exception("snapshot save already in progress");

/// <summary>etcd sent a stream that is not a whole snapshot (cut short, or its sha256 trailer does not match).</summary>
internal sealed class SnapshotStreamException(string message) : Exception(message);
