namespace NodeAgent.Agent.Steps;

/// <summary>
/// What one attempt of an instruction came to. <see cref="SnapshotSha256"/>: the sha256 of the snapshot
/// file a verifying step (VerifySnapshot, DownloadSnapshot, RestoreSnapshot) computed, so a snapshot
/// with none recorded (K3s's own) gets the first node's, which every other node must then match.
/// </summary>
internal sealed record StepOutcome(bool Succeeded, string Message, bool Retryable = false, int ExitCode = 0,
    string StdoutTail = "", string StderrTail = "", bool Skipped = false, string SnapshotSha256 = "")
{
    public static StepOutcome Success(string message = "") => new(true, message);

    public static StepOutcome Skip(string message) => new(true, message, Skipped: true);

    public static StepOutcome Failure(string message, bool retryable) => new(false, message, retryable);
}

/// <summary>The stored result of an instruction (the "completed" marker's content).</summary>
internal sealed record StepRecord(
    string OperationId, string InstructionId, bool Succeeded, bool Skipped, string Message, bool Retryable,
    int Attempt, int ExitCode, string StdoutTail, string StderrTail, DateTimeOffset StartedAt, TimeSpan Duration, string SnapshotSha256 = "");

/// <summary>
/// An attempt cut short by its deadline (or a stop) that says what it had got to: the step's
/// result then carries <see cref="OperationCanceledException.Message"/> and the command output so far.
/// </summary>
internal sealed class StepCancelledException(string detail, CancellationToken token, string stdoutTail = "", string stderrTail = "")
    : OperationCanceledException(detail, token)
{
    public string StdoutTail { get; } = stdoutTail;

    public string StderrTail { get; } = stderrTail;
}
