using System.Globalization;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Snapshots.Daemon;

/// <summary>
/// <c>SaveSnapshot</c>: a snapshot of the local member, uploaded when asked. Progress is reported
/// as bytes arrive. A learner's skip is a skip; an upload that failed fails the step (the on-call
/// engineer asked for an S3 copy and has none yet) while the local snapshot stays, marked for upload.
/// </summary>
internal sealed class SaveSnapshotExecutor(NodeSnapshotService snapshots, TimeProvider time) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.SaveSnapshot;

    public bool SafeToRerun => true;

    public bool AbandonOnStop => true;

    public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
    {
        var save = instruction.SaveSnapshot;
        var prefix = save.Name.Length > 0 ? save.Name : SnapshotNames.OnDemandPrefix;
        var started = time.GetTimestamp();
        void Progress(long done, long total)
        {
            var seconds = time.GetElapsedTime(started).TotalSeconds;
            context.ReportProgress(done, total, seconds > 0 ? done / seconds : 0);
        }
        try
        {
            var (result, upload) = await snapshots.SaveAsync(prefix, save.Compress, save.Upload, Progress, cancellationToken);
            if (result.Skipped)
            {
                return StepOutcome.Skip(result.SkippedBecause!);
            }
            var m = result.Metadata!;
            var saved = string.Create(CultureInfo.InvariantCulture,
                $"saved {m.Name} ({m.SizeBytes} bytes, etcd revision {m.EtcdRevision}, sha256 {m.Sha256})");
            return upload switch
            {
                null => StepOutcome.Success(saved),
                { Succeeded: true } => StepOutcome.Success($"{saved}; uploaded to {upload.Location}"),
                _ => StepOutcome.Failure($"{saved}, but the upload failed: {upload.Failure}; the local snapshot is kept and will be uploaded on a later run", retryable: false),
            };
        }
        catch (SnapshotInProgressException ex)
        {
            return StepOutcome.Failure(ex.Message, retryable: true);
        }
        catch (EtcdUnavailableException ex) when (save.SkipIfEtcdDown)
        {
            // A safety snapshot before a restore: a cluster whose etcd is down is why one restores.
            return StepOutcome.Skip($"no safety snapshot: {ex.Message}");
        }
        catch (EtcdUnavailableException ex)
        {
            return StepOutcome.Failure(ex.Message, retryable: true);
        }
        catch (Exception ex) when (ex is SnapshotRequestException or EtcdRequestException or SnapshotStreamException or IOException)
        {
            return StepOutcome.Failure(ex.Message, retryable: ex is SnapshotStreamException or IOException);
        }
    }
}

/// <summary>
/// <c>DeleteSnapshot</c>: the local copy with its sidecar, and the S3 copy. A node without either
/// succeeds with nothing done; an S3 copy under Object Lock fails the step with its retain-until date.
/// </summary>
internal sealed class DeleteSnapshotExecutor(NodeSnapshotService snapshots) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.DeleteSnapshot;

    public bool SafeToRerun => true;

    public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
    {
        var name = instruction.DeleteSnapshot.Snapshot;
        try
        {
            var (lines, locked) = await snapshots.DeleteAsync(name, cancellationToken);
            var message = lines.Count == 0 ? $"{name}: no copy on this node or in its S3 target" : $"{name}: {string.Join("; ", lines)}";
            return locked ? StepOutcome.Failure(message, retryable: false) : StepOutcome.Success(message);
        }
        catch (SnapshotRequestException ex)
        {
            return StepOutcome.Failure(ex.Message, retryable: false);
        }
        catch (S3TargetException ex)
        {
            return StepOutcome.Failure(ex.Message, retryable: true);
        }
    }
}
