using NodeAgent.Agent.Files;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Restore;

/// <summary>
/// <c>VerifySnapshot</c>: <see cref="SnapshotPreflight"/> alone; touches neither etcd nor the file. The
/// sha256 it computed goes back with the result (with none expected, K3s's snapshot, it is the one the others must match).
/// </summary>
internal sealed class VerifySnapshotExecutor(SnapshotPreflight preflight) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.VerifySnapshot;

    public bool SafeToRerun => true;

    public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
    {
        var (snapshot, failure) = await preflight.CheckAsync(instruction.VerifySnapshot.Snapshot, instruction.VerifySnapshot.Sha256, cancellationToken);
        return failure ?? StepOutcome.Success(snapshot!.Describe()) with { SnapshotSha256 = snapshot.Check.Sha256 };
    }
}

/// <summary>
/// <c>RestoreSnapshot</c>: the checks of <see cref="SnapshotPreflight"/>, a refusal while etcd still
/// answers, a zip unpacked next to it (as K3s does), then the driver's restore. Destructive: one
/// attempt, never run again after an interruption.
/// </summary>
internal sealed class RestoreSnapshotExecutor(SnapshotPreflight preflight, IRuntimeDriver driver, EtcdHealth health) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.RestoreSnapshot;

    public bool SafeToRerun => false;

    public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
    {
        var (snapshot, failure) = await preflight.CheckAsync(instruction.RestoreSnapshot.Snapshot, instruction.RestoreSnapshot.Sha256, cancellationToken);
        if (failure is not null)
        {
            return failure;
        }
        if ((await health.ProbeAsync(cancellationToken)).Status is { } running)
        {
            return StepOutcome.Failure($"{RuntimeSteps.Describe(running)}: stop {driver.Name} (RunKillall) before restoring", retryable: false);
        }
        var (plain, unpackFailure) = await PlainSnapshotAsync(snapshot!.Check.Path, cancellationToken);
        if (unpackFailure is not null)
        {
            return unpackFailure;
        }
        var outcome = await RuntimeSteps.GuardAsync(() => driver.RestoreAsync(plain!, instruction.RestoreSnapshot.InitialCluster, cancellationToken));
        return outcome with { Message = $"verified {snapshot.Describe()}; {outcome.Message}", SnapshotSha256 = snapshot.Check.Sha256 };
    }

    /// <summary>The snapshot itself, or for a zip its entry unpacked into the same dir (an earlier unpack is reused when it verifies).</summary>
    private static async Task<(string? Path, StepOutcome? Failure)> PlainSnapshotAsync(string path, CancellationToken cancellationToken)
    {
        if (!path.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal))
        {
            return (path, null);
        }
        var unpacked = path[..^SnapshotNames.ZipSuffix.Length];
        if (File.Exists(unpacked))
        {
            var check = await SnapshotVerifier.CheckAsync(unpacked, cancellationToken);
            return check.Problem is null
                ? (unpacked, null)
                : (null, StepOutcome.Failure($"{unpacked} is in the way of unpacking {Path.GetFileName(path)}: {check.Problem}", retryable: false));
        }
        try
        {
            return ((await SnapshotZip.ExtractAsync(path, Path.GetDirectoryName(path)!, cancellationToken)).Path, null);
        }
        catch (Exception ex) when (ex is SnapshotStreamException or SnapshotRequestException or IOException)
        {
            var reason = ex is IOException io ? DiskErrors.Describe(io) : ex.Message;
            return (null, StepOutcome.Failure($"cannot unpack {path}: {reason}", retryable: false));
        }
    }
}

/// <summary>
/// <c>DownloadSnapshot</c>: from the node's S3 target into its snapshot dir, verified as
/// <see cref="IS3SnapshotStore.DownloadAsync"/> verifies (metadata sha256, etcd trailer, zip entry)
/// and against the plan's sha256. A copy already there that verifies is kept; S3 trouble is retryable.
/// </summary>
internal sealed class DownloadSnapshotExecutor(SnapshotTargets targets) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.DownloadSnapshot;

    public bool SafeToRerun => true;

    public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
    {
        var download = instruction.DownloadSnapshot;
        var name = download.Snapshot;
        if (targets.Target is not { } target)
        {
            return StepOutcome.Failure($"this node has no snapshot dir yet: {targets.Problem ?? "its plan's snapshot settings have not arrived"}", retryable: false);
        }
        using var s3 = targets.AcquireS3();
        if (s3?.Store is not { } store)
        {
            return StepOutcome.Failure($"this node has no S3 target in its plan's snapshot settings: cannot download {name}", retryable: false);
        }
        try
        {
            SnapshotNames.ValidateFileName(name);
            var local = Path.Combine(target.Directory, name);
            if (File.Exists(local))
            {
                return await AlreadyHereAsync(local, download.Sha256, cancellationToken);
            }
            DeleteLeftoverParts(local);
            var (file, restorable) = await store.DownloadAsync(name, target.Directory, cancellationToken);
            if (download.Sha256.Length > 0 && !string.Equals(file.Sha256, download.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                File.Delete(file.Path);
                File.Delete(restorable);
                return StepOutcome.Failure($"sha256 mismatch: {store.LocationOf(name)} has sha256 {file.Sha256}, the plan expects {download.Sha256.ToLowerInvariant()}; the download was deleted", retryable: false);
            }
            return StepOutcome.Success($"downloaded {store.LocationOf(name)} to {file.Path} ({file.SizeBytes} bytes, sha256 {file.Sha256}, etcd hash trailer verified)")
                with { SnapshotSha256 = file.Sha256 };
        }
        catch (SnapshotRequestException ex)
        {
            return StepOutcome.Failure(ex.Message, retryable: false);
        }
        catch (S3TargetException ex)
        {
            return StepOutcome.Failure(ex.Message, retryable: true);
        }
        catch (IOException ex)
        {
            // This node's disk (full, over quota, read-only): the message names the dir; retrying as such would not help.
            return StepOutcome.Failure(ex.Message, retryable: false);
        }
    }

    private static async Task<StepOutcome> AlreadyHereAsync(string local, string expectedSha256, CancellationToken cancellationToken)
    {
        var check = await SnapshotVerifier.CheckAsync(local, cancellationToken);
        if (expectedSha256.Length > 0 && !string.Equals(check.Sha256, expectedSha256, StringComparison.OrdinalIgnoreCase))
        {
            return StepOutcome.Failure($"a different {Path.GetFileName(local)} is already in {Path.GetDirectoryName(local)} (sha256 {check.Sha256}, the plan expects {expectedSha256.ToLowerInvariant()}); move it away first", retryable: false);
        }
        return check.Problem is null
            ? StepOutcome.Success($"{local} is already here and verifies (sha256 {check.Sha256}); not downloaded again") with { SnapshotSha256 = check.Sha256 }
            : StepOutcome.Failure($"{local} is already here but broken: {check.Problem}; move it away first", retryable: false);
    }

    /// <summary>A download cut short by a restart leaves .part files (in ../.nodeagent/tmp or the dir); they would block the next one.</summary>
    private static void DeleteLeftoverParts(string local)
    {
        if (!Directory.Exists(Path.GetDirectoryName(local)))
        {
            return;
        }
        var finals = local.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal) ? new[] { local, local[..^SnapshotNames.ZipSuffix.Length] } : [local];
        foreach (var part in finals.SelectMany(SnapshotTempFiles.PossiblePathsFor))
        {
            File.Delete(part);
        }
    }
}
