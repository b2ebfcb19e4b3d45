using System.Globalization;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Restore;

/// <summary>A local snapshot that passed the checks, and the free space found for its restore.</summary>
internal sealed record VerifiedSnapshot(SnapshotCheck Check, string SpaceNote)
{
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Path.GetFileName(Check.Path)}: sha256 {Check.Sha256}, etcd hash trailer verified, {Check.DbBytes} bytes of etcd db; {SpaceNote}");
}

/// <summary>
/// What a restore checks before it touches anything, and all that VerifySnapshot does: the file is in
/// this node's snapshot dir, its sha256 is the one the plan names, etcd's trailer verifies (a zip's
/// entry's), and the disk where the etcd data lives has room for twice the db. Each failure says
/// exactly what is wrong; none is worth retrying.
/// </summary>
internal sealed class SnapshotPreflight(SnapshotTargets targets, IRuntimeDriver driver)
{
    public const int SpaceFactor = 2;

    /// <summary>Every check for the snapshot <paramref name="name"/> in the snapshot dir: the verified snapshot (its path in <c>Check.Path</c>), or the first failure.</summary>
    public async Task<(VerifiedSnapshot? Snapshot, StepOutcome? Failure)> CheckAsync(string name, string expectedSha256, CancellationToken cancellationToken)
    {
        var (path, missing) = Locate(name);
        return missing is null ? await VerifyAsync(path!, expectedSha256, cancellationToken) : (null, missing);
    }

    /// <summary>The snapshot's path in the snapshot dir, or why there is none.</summary>
    private (string? Path, StepOutcome? Failure) Locate(string name)
    {
        if (targets.Target is not { } target)
        {
            return (null, StepOutcome.Failure($"this node has no snapshot dir yet: {targets.Problem ?? "its plan's snapshot settings have not arrived"}", retryable: false));
        }
        try
        {
            SnapshotNames.ValidateFileName(name);
        }
        catch (SnapshotRequestException ex)
        {
            return (null, StepOutcome.Failure(ex.Message, retryable: false));
        }
        var path = Path.Combine(target.Directory, name);
        return File.Exists(path)
            ? (path, null)
            : (null, StepOutcome.Failure($"snapshot {name} is not in {target.Directory} on this node (download it first)", retryable: false));
    }

    private async Task<(VerifiedSnapshot? Snapshot, StepOutcome? Failure)> VerifyAsync(string path, string expectedSha256, CancellationToken cancellationToken)
    {
        var check = await SnapshotVerifier.CheckAsync(path, cancellationToken);
        if (expectedSha256.Length > 0 && !string.Equals(check.Sha256, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            return (null, StepOutcome.Failure($"sha256 mismatch: {path} has sha256 {check.Sha256}, the plan expects {expectedSha256.ToLowerInvariant()}", retryable: false));
        }
        if (check.Problem is not null)
        {
            return (null, StepOutcome.Failure(check.Problem, retryable: false));
        }
        if (driver.EtcdDataDir.Length == 0)
        {
            return (new VerifiedSnapshot(check, "free space not checked: the etcd data dir is not configured (etcd-data-dir)"), null);
        }
        var where = DiskSpace.ExistingAncestor(driver.EtcdDataDir);
        var free = DiskSpace.FreeBytes(where);
        return DiskSpace.Shortfall(where, driver.EtcdDataDir, free, check.DbBytes * SpaceFactor) is { } shortfall
            ? (null, StepOutcome.Failure(shortfall, retryable: false))
            : (new VerifiedSnapshot(check, $"{DiskSpace.Format(free)} free at {where}, {DiskSpace.Format(check.DbBytes * SpaceFactor)} needed"), null);
    }
}

/// <summary>Free space on the file system that holds a path (statvfs through <see cref="DriveInfo"/>).</summary>
internal static class DiskSpace
{
    /// <summary>The path itself, or its nearest ancestor that exists (a data dir may not exist yet).</summary>
    public static string ExistingAncestor(string path)
    {
        var dir = Path.GetFullPath(path);
        while (!Directory.Exists(dir))
        {
            dir = Path.GetDirectoryName(dir) ?? "/";
        }
        return dir;
    }

    public static long FreeBytes(string existingDirectory) => new DriveInfo(existingDirectory).AvailableFreeSpace;

    public static string? Shortfall(string where, string dataDir, long freeBytes, long neededBytes)
        => freeBytes >= neededBytes
            ? null
            : $"not enough free disk for the restore: {Format(freeBytes)} free at {where} (where {dataDir} lives), {Format(neededBytes)} needed ({SnapshotPreflight.SpaceFactor}× the etcd db)";

    public static string Format(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes ({bytes / 1024.0 / 1024.0:0.0} MiB)");
}
