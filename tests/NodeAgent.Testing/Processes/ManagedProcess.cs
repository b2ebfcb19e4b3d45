using System.Diagnostics;

namespace NodeAgent.Testing.Processes;

/// <summary>
/// A long-running child process (a server) whose output is kept for failure messages and
/// which is always stopped on dispose: SIGTERM first, then a kill of its whole tree.
/// </summary>
public sealed class ManagedProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly OutputTail _output = new();
    private readonly string _display;
    private int _disposed;

    private ManagedProcess(Process process, string display)
    {
        _process = process;
        _display = display;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines of stdout and stderr, interleaved.</summary>
    public string Output => _output.ToString();

    /// <summary>Raised for every line the process prints (stdout and stderr).</summary>
    public event Action<string>? LinePrinted;

    public static ManagedProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        foreach (var arg in arguments)
        {
            psi.ArgumentList.Add(arg);
        }
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                if (value is null)
                {
                    psi.Environment.Remove(key);
                }
                else
                {
                    psi.Environment[key] = value;
                }
            }
        }
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var managed = new ManagedProcess(process, $"{Path.GetFileName(fileName)} {string.Join(' ', psi.ArgumentList)}");
        process.OutputDataReceived += (_, e) => managed.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => managed.OnLine(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}.");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return managed;
    }

    /// <summary>Waits until <paramref name="ready"/> holds, failing early (with the output) if the process exits.</summary>
    public async Task WaitUntilAsync(Func<CancellationToken, Task<bool>> ready, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        var delay = TimeSpan.FromMilliseconds(25);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{_display} exited with {_process.ExitCode} before {what}.\n{Output}");
            }
            try
            {
                if (await ready(cts.Token))
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
            }
            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"{_display}: not {what} within {timeout}.\n{Output}");
            }
            // Polling an external server's readiness is the one wait a fixture cannot avoid.
            try
            {
                await Task.Delay(delay, cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 250));
        }
    }

    /// <summary>Sends SIGTERM and waits for exit; kills the tree when it does not stop in time.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_process.HasExited)
        {
            return;
        }
        Signal("TERM");
        using var cts = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(10));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
    }

    /// <summary>Kills the process and its children at once (SIGKILL), as a crash would.</summary>
    public void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Sends a signal by name (TERM, INT, STOP, CONT, ...).</summary>
    public void Signal(string name)
    {
        if (_process.HasExited)
        {
            return;
        }
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-s", name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
        });
        kill?.WaitForExit(5_000);
    }

    /// <summary>Waits for the process to exit by itself.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken) => _process.WaitForExitAsync(cancellationToken);

    /// <summary>Stops the process (see <see cref="StopAsync"/>); a second call does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await StopAsync();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        _output.Add(line);
        LinePrinted?.Invoke(line);
    }

    public override string ToString() => _display;
}
