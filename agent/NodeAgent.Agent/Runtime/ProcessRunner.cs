using System.ComponentModel;
using System.Diagnostics;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// A command the agent runs: a program with its arguments (never a secret among them), the
/// variables added to its environment, and its working directory.
/// </summary>
internal sealed record CommandSpec(string FileName, IReadOnlyList<string> Arguments)
{
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public string WorkingDirectory { get; init; } = "/";

    /// <summary>A command line from the config, run by <c>/bin/sh -c</c>.</summary>
    public static CommandSpec Shell(string commandLine) => new("/bin/sh", ["-c", commandLine]);

    public override string ToString() => string.Join(' ', [FileName, .. Arguments]);
}

/// <summary>How a command ended: its exit code and the last few KiB of its output.</summary>
internal sealed record CommandResult(CommandSpec Command, int ExitCode, string StdoutTail, string StderrTail)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>The step's outcome: <paramref name="success"/> on exit 0, else a failure naming the command and its exit code.</summary>
    public StepOutcome ToOutcome(string success, bool retryable)
        => Succeeded
            ? new StepOutcome(true, success, ExitCode: 0, StdoutTail: StdoutTail, StderrTail: StderrTail)
            : new StepOutcome(false, $"{Command} exited {ExitCode}{LastLine()}", retryable, ExitCode, StdoutTail, StderrTail);

    private string LastLine()
    {
        var last = (StderrTail.Length > 0 ? StderrTail : StdoutTail).TrimEnd().Split('\n')[^1].Trim();
        return last.Length > 0 ? $": {last}" : "";
    }
}

/// <summary>A command that could not be started at all (missing, not executable).</summary>
internal sealed class CommandStartException(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// Runs the runtime's commands (killall scripts, service commands, <c>k3s server --cluster-reset</c>,
/// <c>etcdctl snapshot restore</c>): stdin closed, output kept as tails for the step result, the
/// agent's own settings and systemd's notify variables left out of the child's environment. A
/// cancelled run kills the whole process tree and says what the command had printed.
/// </summary>
internal sealed partial class ProcessRunner(TimeProvider time, ILogger<ProcessRunner> logger)
{
    public const int TailBytes = 4096;

    /// <summary>How long output is still read after the command exited (a daemon it started may hold the pipe open).</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    /// <summary>Inherited variables a child must not see: the agent's settings (the bootstrap token) and systemd's notify/watchdog sockets.</summary>
    private static readonly string[] WithheldVariables = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

    /// <exception cref="CommandStartException">The program could not be started.</exception>
    /// <exception cref="StepCancelledException">Cancelled; the process tree was killed.</exception>
    public async Task<CommandResult> RunAsync(CommandSpec command, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = command.WorkingDirectory,
        };
        foreach (var argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in start.Environment.Keys.Where(Withheld).ToList())
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in command.Environment)
        {
            start.Environment[name] = value;
        }
        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            throw new CommandStartException($"cannot run {command.FileName}: {ex.Message}", ex);
        }
        LogStarted(logger, command, process.Id);
        process.StandardInput.Close();
        var stdout = new TailBuffer(TailBytes);
        var stderr = new TailBuffer(TailBytes);
        var draining = Task.WhenAll(stdout.ReadFromAsync(process.StandardOutput.BaseStream), stderr.ReadFromAsync(process.StandardError.BaseStream));
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            await DrainAsync(draining, process);
            LogKilled(logger, command, stderr);
            throw new StepCancelledException($"{command} was killed before it finished", cancellationToken, stdout.ToString(), stderr.ToString());
        }
        await DrainAsync(draining, process);
        LogEnded(logger, command, process.ExitCode);
        return new CommandResult(command, process.ExitCode, stdout.ToString(), stderr.ToString());
    }

    private static bool Withheld(string name)
        => name.StartsWith("NODEAGENT_", StringComparison.Ordinal) || WithheldVariables.Contains(name, StringComparer.Ordinal);

    /// <summary>Reads what is left of the output; gives up after a grace when something the command started keeps the pipes open.</summary>
    private async Task DrainAsync(Task draining, Process process)
    {
        try
        {
            await draining.WaitAsync(DrainGrace, time);
        }
        catch (TimeoutException)
        {
            // Closing our ends ends the reads; the tails keep what arrived.
            process.StandardOutput.Close();
            process.StandardError.Close();
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Running {Command} (pid {Pid})")]
    private static partial void LogStarted(ILogger logger, CommandSpec command, int pid);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "{Command} exited {ExitCode}")]
    private static partial void LogEnded(ILogger logger, CommandSpec command, int exitCode);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "{Command} was killed before it finished; its last output: {StderrTail}")]
    private static partial void LogKilled(ILogger logger, CommandSpec command, TailBuffer stderrTail);
}

/// <summary>The last bytes of a stream, as text.</summary>
internal sealed class TailBuffer(int capacity)
{
    private readonly byte[] _ring = new byte[capacity];
    private readonly Lock _gate = new();
    private long _total;

    public async Task ReadFromAsync(Stream stream)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                Append(buffer.AsSpan(0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The pipe was closed under the read: what arrived is kept.
        }
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            var skip = Math.Max(0, data.Length - capacity);
            _total += skip;
            data = data[skip..];
            var at = (int)(_total % capacity);
            var first = Math.Min(data.Length, capacity - at);
            data[..first].CopyTo(_ring.AsSpan(at));
            data[first..].CopyTo(_ring);
            _total += data.Length;
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            if (_total <= capacity)
            {
                return System.Text.Encoding.UTF8.GetString(_ring, 0, (int)_total);
            }
            var at = (int)(_total % capacity);
            var bytes = new byte[capacity];
            _ring.AsSpan(at).CopyTo(bytes);
            _ring.AsSpan(0, at).CopyTo(bytes.AsSpan(capacity - at));
            return "…" + System.Text.Encoding.UTF8.GetString(bytes);
        }
    }
}
