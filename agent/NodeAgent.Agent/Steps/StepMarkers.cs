using System.Globalization;
using System.Text.Json;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Steps;

/// <summary>
/// On-disk markers per operation and instruction, written before and after each attempt:
/// <c>&lt;state-dir&gt;/steps/&lt;operation&gt;/&lt;instruction&gt;/started-&lt;n&gt;</c> and <c>result.json</c>.
/// After a restart they tell a completed step (never run again) from an interrupted one.
/// </summary>
internal sealed class StepMarkers(string stateDir)
{
    private const int KeptOperations = 20;

    private string Root => Path.Combine(stateDir, "steps");

    public StepRecord? Completed(string operationId, string instructionId)
    {
        var path = Path.Combine(Dir(operationId, instructionId), "result.json");
        return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), StepsJsonContext.Default.StepRecord) : null;
    }

    /// <summary>Attempts begun so far (each left a started marker).</summary>
    public int AttemptsStarted(string operationId, string instructionId)
    {
        var dir = Dir(operationId, instructionId);
        return Directory.Exists(dir) ? Directory.GetFiles(dir, "started-*").Length : 0;
    }

    public void MarkStarted(string operationId, string instructionId, int attempt, DateTimeOffset at)
    {
        var dir = Dir(operationId, instructionId);
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteDurably(Path.Combine(dir, string.Create(CultureInfo.InvariantCulture, $"started-{attempt}")), at.ToString("O", CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Takes back attempt <paramref name="attempt"/>'s started marker: a step that may run again was
    /// abandoned by a stop of the agent (not a crash), so that attempt does not count.
    /// </summary>
    public void WithdrawStarted(string operationId, string instructionId, int attempt)
        => File.Delete(Path.Combine(Dir(operationId, instructionId), string.Create(CultureInfo.InvariantCulture, $"started-{attempt}")));

    public void MarkCompleted(StepRecord record)
    {
        var dir = Dir(record.OperationId, record.InstructionId);
        Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        WriteDurably(Path.Combine(dir, "result.json"), JsonSerializer.Serialize(record, StepsJsonContext.Default.StepRecord));
    }

    /// <summary>Removes the markers of all but the newest operations.</summary>
    public void Prune()
    {
        if (!Directory.Exists(Root))
        {
            return;
        }
        foreach (var old in new DirectoryInfo(Root).GetDirectories().OrderByDescending(d => d.LastWriteTimeUtc).Skip(KeptOperations))
        {
            old.Delete(recursive: true);
        }
    }

    private string Dir(string operationId, string instructionId)
        => Path.Combine(Root, SafeName(operationId), SafeName(instructionId));

    /// <summary>Ids come from the server; they never become paths outside the markers dir.</summary>
    private static string SafeName(string id)
        => string.Concat(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')).TrimStart('.');

    private static void WriteDurably(string path, string content)
        => DurableFile.Write(path, UnixFileMode.UserRead | UnixFileMode.UserWrite, System.Text.Encoding.UTF8.GetBytes(content));
}
