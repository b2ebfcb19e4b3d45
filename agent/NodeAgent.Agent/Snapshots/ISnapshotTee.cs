namespace NodeAgent.Agent.Snapshots;

/// <summary>
/// Receives a copy of a snapshot's bytes as they are written (e.g. to upload them at the same time).
/// It must not throw into the save: a tee that fails records why and ignores the rest, because a
/// failed upload never costs the local snapshot.
/// </summary>
internal interface ISnapshotTee : IAsyncDisposable
{
    ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    /// <summary>The file is whole and verified: finish. Null when it succeeded, else why it failed.</summary>
    Task<string?> CompleteAsync(CancellationToken cancellationToken);

    /// <summary>The save failed: throw away what was sent.</summary>
    Task AbortAsync();
}
