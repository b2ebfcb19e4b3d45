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

    Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken);
}

/// <summary>What an executor may use besides the instruction: the plan it came with, and progress reporting.</summary>
internal sealed class StepContext(Plan plan, Action<Progress> onProgress)
{
    public Plan Plan { get; } = plan;

    public void ReportProgress(long bytesDone, long bytesTotal, double bytesPerSecond)
        => onProgress(new Progress { BytesDone = bytesDone, BytesTotal = bytesTotal, BytesPerSecond = bytesPerSecond });
}
