using System.Diagnostics;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Snapshots;

/// <summary>What to save and what to record about it.</summary>
internal sealed record SnapshotSaveRequest(string Directory, string NamePrefix, string NodeName, bool Compress)
{
    public string Cluster { get; init; } = "";

    public Contracts.V1.Runtime Runtime { get; init; }

    public string KubernetesVersion { get; init; } = "";

    public string ClusterConfig { get; init; } = "";

    public string TokenHash { get; init; } = "";
}

/// <summary>A saved snapshot (its path and sidecar), or why this member skipped.</summary>
internal sealed record SnapshotSaveResult(string? Path, SnapshotMetadata? Metadata, string? SkippedBecause)
{
    /// <summary>With a tee (an upload alongside): null when it succeeded, else why it failed.</summary>
    public string? TeeFailure { get; init; }

    public bool Skipped => SkippedBecause is not null;
}

/// <summary>
/// Takes one snapshot: the node's save lock, etcd's Status (a learner skips), the stream into a
/// verified file, optional zip, then the sidecar. Used by the CLI, the schedule and the daemon.
/// </summary>
internal sealed partial class SnapshotSaver(Func<IEtcdMaintenance> connect, TimeProvider time, ILogger<SnapshotSaver> logger)
{
    /// <summary>
    /// The save lock's file: <c>&lt;snapshot-dir&gt;/../.nodeagent/save.lock</c> (with the default dir,
    /// <c>&lt;data-dir&gt;/server/db/.nodeagent/</c>), next to K3s's <c>.metadata/</c>, never in the snapshot dir:
    /// K3s lists every regular file under the snapshot dir as a snapshot (a lock there would show in
    /// <c>k3s etcd-snapshot ls</c> and as an ETCDSnapshotFile that cannot be restored). The CLI and the
    /// daemon derive it from the same snapshot dir, so they still exclude each other.
    /// </summary>
    public static string LockPathFor(string snapshotDirectory)
    {
        var full = Path.GetFullPath(snapshotDirectory);
        var parent = Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(full)) ?? full;
        return Path.Combine(parent, ".nodeagent", "save.lock");
    }

    /// <summary>How long a .part file must be untouched before a save removes it as abandoned.</summary>
    public static readonly TimeSpan AbandonedPartAge = TimeSpan.FromHours(1);
    private const long ProgressEveryBytes = 8L * 1024 * 1024;
    private const long CollectEveryBytes = 32L * 1024 * 1024;

    // .NET's IOException carries the errno as its HResult on Linux.
    private const int WouldBlock = 11;
    private const int ReadOnlyFileSystem = 30;

    /// <param name="onProgress">Called now and then with (bytes done, bytes expected from etcd's db size).</param>
    /// <param name="tee">
    /// Given the file name, something that gets every byte as it is written (an upload alongside the
    /// save); not used for compressed snapshots, whose bytes exist only after the zip is made.
    /// </param>
    /// <param name="finish">
    /// Given the saved snapshot (sidecar not yet written), finishes its S3 copy and says how that
    /// went; the sidecar is then written once, with that state.
    /// </param>
    public async Task<SnapshotSaveResult> SaveAsync(SnapshotSaveRequest request, Action<long, long>? onProgress, CancellationToken cancellationToken,
        Func<string, ISnapshotTee>? tee = null, Func<SnapshotSaveResult, CancellationToken, Task<UploadState>>? finish = null)
    {
        SnapshotNames.ValidatePart(request.NamePrefix, "snapshot name");
        SnapshotNames.ValidatePart(request.NodeName, "node name");
        SnapshotNames.ValidateLength(request.NamePrefix, request.NodeName);
        var directory = Path.GetFullPath(request.Directory);
        if (File.Exists(directory))
        {
            throw new SnapshotRequestException($"snapshot dir {directory} is not a directory");
        }
        LinuxFiles.CreatePrivateDirectory(directory);
        using var saveLock = AcquireLock(directory);
        RemoveAbandonedParts(directory);
        SnapshotTempFiles.WarnIfInSnapshotDir(directory, logger);

        using var etcd = connect();
        var status = await etcd.StatusAsync(cancellationToken);
        if (status.IsLearner)
        {
            LogLearnerSkips(logger, status.Endpoint);
            return new SnapshotSaveResult(null, null, $"etcd member {status.MemberId:x} at {status.Endpoint.GetLeftPart(UriPartial.Authority)} is a learner; learners take no snapshots");
        }

        var createdAt = DateTimeOffset.FromUnixTimeSeconds((long)Math.Round(time.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0, MidpointRounding.AwayFromZero));
        var name = SnapshotNames.Compose(request.NamePrefix, request.NodeName, createdAt);
        var started = time.GetTimestamp();
        LogSaving(logger, name, status.Endpoint, status.DbSizeBytes);

        await using var copy = request.Compress ? null : tee?.Invoke(name);
        SnapshotFileInfo file;
        string? teeFailure;
        try
        {
            (file, teeFailure) = await StreamAsync(etcd, Path.Combine(directory, name), copy, status.DbSizeBytes, onProgress, cancellationToken);
        }
        catch (IOException ex) when (DiskErrors.IsFullOrReadOnly(ex))
        {
            throw NotWritten(name, directory, ex);
        }
        onProgress?.Invoke(file.SizeBytes, file.SizeBytes);

        var snapshotSha256 = file.Sha256;
        if (request.Compress)
        {
            try
            {
                file = await SnapshotZip.CompressAsync(file.Path, createdAt, cancellationToken);
            }
            catch (IOException ex) when (DiskErrors.IsFullOrReadOnly(ex))
            {
                File.Delete(file.Path);
                throw NotWritten(name, directory, ex);
            }
            catch
            {
                // As K3s: the uncompressed file does not outlive a failed compression.
                File.Delete(file.Path);
                throw;
            }
        }

        var metadata = new SnapshotMetadata
        {
            Name = Path.GetFileName(file.Path),
            NodeName = request.NodeName,
            Cluster = request.Cluster,
            Runtime = Config.RuntimeNaming.NameOrEmpty(request.Runtime),
            KubernetesVersion = request.KubernetesVersion,
            ClusterConfig = request.ClusterConfig,
            CreatedAt = createdAt,
            SizeBytes = file.SizeBytes,
            Sha256 = file.Sha256,
            SnapshotSha256 = snapshotSha256,
            EtcdRevision = status.Revision,
            EtcdVersion = status.Version,
            Compressed = request.Compress,
            TokenHash = request.TokenHash,
            Duration = time.GetElapsedTime(started),
        };
        if (finish is not null)
        {
            UploadState upload;
            try
            {
                upload = await finish(new SnapshotSaveResult(file.Path, metadata, null) { TeeFailure = teeFailure }, cancellationToken);
            }
            catch
            {
                // Stopped while the S3 copy was being finished: the snapshot is whole, and its sidecar
                // says the copy is still to be made, so a later save uploads it.
                WriteSidecar(directory, file.Path, metadata with { S3Upload = UploadState.Pending });
                throw;
            }
            metadata = metadata with { S3Upload = upload };
        }
        WriteSidecar(directory, file.Path, metadata);
        LogSaved(logger, metadata.Name, metadata.SizeBytes, metadata.EtcdRevision, metadata.Duration);
        return new SnapshotSaveResult(file.Path, metadata, null) { TeeFailure = teeFailure };
    }

    /// <summary>The sidecar, written once per save; a snapshot whose sidecar cannot be written does not stay.</summary>
    private static void WriteSidecar(string directory, string path, SnapshotMetadata metadata)
    {
        try
        {
            new SnapshotSidecars(directory).Write(metadata);
        }
        catch (IOException ex) when (DiskErrors.IsFullOrReadOnly(ex))
        {
            File.Delete(path);
            throw NotWritten(metadata.Name, directory, ex);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>The writers have removed what they wrote: nothing that looks like a snapshot stays.</summary>
    private static IOException NotWritten(string name, string directory, IOException ex)
        => new($"snapshot {name} could not be written to {directory}: {ex.Message}; nothing of it was kept", ex);

    /// <summary>etcd's stream into the verified file (and the tee); a failed save aborts the tee's upload.</summary>
    private static async Task<(SnapshotFileInfo File, string? TeeFailure)> StreamAsync(
        IEtcdMaintenance etcd, string path, ISnapshotTee? copy, long expectedBytes, Action<long, long>? onProgress, CancellationToken cancellationToken)
    {
        try
        {
            await using var writer = SnapshotFileWriter.Create(path, copy);
            var reported = 0L;
            var collected = 0L;
            await foreach (var chunk in etcd.SnapshotAsync(cancellationToken))
            {
                await writer.WriteAsync(chunk, cancellationToken);
                if (writer.BytesReceived - collected >= CollectEveryBytes)
                {
                    // The gRPC stream leaves a few hundred bytes of garbage per 32 KiB message; left
                    // to the GC's own budget that garbage grows the process by ~20 MB per GB before
                    // the first collection. A young-generation collection now and then (a fraction of
                    // a millisecond with nothing alive) keeps the agent's memory flat at any db size.
                    collected = writer.BytesReceived;
                    GC.Collect(0, GCCollectionMode.Forced, blocking: true);
                }
                if (onProgress is not null && writer.BytesReceived - reported >= ProgressEveryBytes)
                {
                    reported = writer.BytesReceived;
                    onProgress(reported, Math.Max(reported, expectedBytes));
                }
            }
            var file = await writer.CommitAsync(cancellationToken);
            return (file, copy is null ? null : await copy.CompleteAsync(cancellationToken));
        }
        catch when (copy is not null)
        {
            // A save that failed uploads nothing: the parts sent so far are thrown away.
            await copy.AbortAsync();
            throw;
        }
    }

    /// <summary>
    /// Removes <c>.part</c> files a save or download left when its process died (killed, host
    /// crash), so they do not fill the disk: snapshot parts in <c>../.nodeagent/tmp/</c> and in the
    /// dir (where they are written when the temp dir is on another device, or an older version
    /// wrote them) and sidecar parts in <c>.metadata/</c>. Under the save lock no save writes one, and a download writes without
    /// pause, so a part file untouched for an hour is abandoned. Only names we write go
    /// (<c>&lt;name&gt;-&lt;node&gt;-&lt;unix seconds&gt;[.zip].part</c>): the dir may hold other programs' files.
    /// </summary>
    private void RemoveAbandonedParts(string directory)
    {
        var cutoff = (time.GetUtcNow() - AbandonedPartAge).UtcDateTime;
        var sidecars = new DirectoryInfo(new SnapshotSidecars(directory).Directory);
        var parts = SnapshotTempFiles.Candidates(directory)
            .Concat(sidecars.Exists ? sidecars.EnumerateFiles("*" + SnapshotNames.PartSuffix) : []);
        foreach (var part in parts)
        {
            if (part.LastWriteTimeUtc >= cutoff || !SnapshotNames.IsSnapshotPart(part.Name))
            {
                continue;
            }
            try
            {
                part.Delete();
                LogRemovedPart(logger, part.Name, part.Length);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                LogPartNotRemoved(logger, part.Name, ex.Message);
            }
        }
    }

    private static FileStream AcquireLock(string directory)
    {
        try
        {
            var path = LockPathFor(directory);
            LinuxFiles.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
            // FileShare.None takes an exclusive flock on Linux: one save per node, across processes.
            return new FileStream(path, new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
            });
        }
        catch (IOException ex) when (ex.HResult == WouldBlock)
        {
            // The flock is held: another save runs.
            throw new SnapshotInProgressException();
        }
        catch (IOException ex) when (ex.HResult == ReadOnlyFileSystem)
        {
            throw new IOException($"snapshot dir {directory} is read-only", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Saving etcd snapshot {Name} from {Endpoint} (db {DbSizeBytes} bytes)")]
    private static partial void LogSaving(ILogger logger, string name, Uri endpoint, long dbSizeBytes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Saved etcd snapshot {Name}: {SizeBytes} bytes at revision {Revision} in {Duration}")]
    private static partial void LogSaved(ILogger logger, string name, long sizeBytes, long revision, TimeSpan duration);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Removed {Name} ({Bytes} bytes), left by a save or download that did not finish")]
    private static partial void LogRemovedPart(ILogger logger, string name, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the abandoned {Name}: {Reason}")]
    private static partial void LogPartNotRemoved(ILogger logger, string name, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "etcd member at {Endpoint} is a learner: no snapshot")]
    private static partial void LogLearnerSkips(ILogger logger, Uri endpoint);
}
