using System.Globalization;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Benchmarks;

/// <summary>
/// <c>--trace FILE</c>: every line the plan server and the agents print, each watched state of the
/// operation and the hand-run's steps, stamped with the wall-clock time, in one file: where the
/// seconds of a phase go (a step that works, or a wait between steps). Nothing is written without a file.
/// </summary>
internal sealed class BenchmarkTrace(string? path) : IDisposable
{
    private readonly StreamWriter? _writer = path is null ? null : new StreamWriter(path) { AutoFlush = true };
    private readonly Lock _gate = new();

    public void Hook(string who, ManagedProcess process) => process.LinePrinted += line => Line(who, line);

    public void Line(string who, string line)
    {
        if (_writer is null)
        {
            return;
        }
        lock (_gate)
        {
            _writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{TimeProvider.System.GetUtcNow():HH:mm:ss.fff} {who}: {line}"));
        }
    }

    public void Dispose() => _writer?.Dispose();
}
