using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Steps;

/// <summary>Runs one kind of typed instruction. Each kind has exactly one executor.</summary>
internal interface IInstructionExecutor
{
    Instruction.KindOneofCase Kind { get; }

    /// <summary>
    /// Whether a run cut short by an agent restart may be run again. A destructive step (killall,
    /// restore, removing etcd data) is never re-run blindly: it is reported as interrupted.
    /// </summary>
    bool SafeToRerun { get; }

    /// <summary>
    /// Whether a stop of the agent (SIGTERM) abandons a run under way rather than letting it end: only
    /// for a step that is <see cref="SafeToRerun"/> and leaves nothing half-done behind (a save).
    /// Every other step in hand ends, bounded by the host's shutdown timeout, before the agent exits.
    /// </summary>
    bool AbandonOnStop => false;

    Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken);
}

/// <summary>What an executor may use besides the instruction: the plan it came with, and progress reporting.</summary>
internal sealed class StepContext(Plan plan, Action<Progress> onProgress)
{
    public Plan Plan { get; } = plan;

    public void ReportProgress(long bytesDone, long bytesTotal, double bytesPerSecond)
        => onProgress(new Progress { BytesDone = bytesDone, BytesTotal = bytesTotal, BytesPerSecond = bytesPerSecond });
}
