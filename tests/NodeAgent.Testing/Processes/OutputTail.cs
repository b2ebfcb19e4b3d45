using System.Text;

namespace NodeAgent.Testing.Processes;

/// <summary>Keeps the last lines a process printed, for failure messages.</summary>
public sealed class OutputTail(int maxLines = 200)
{
    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();

    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_gate)
        {
            _lines.Enqueue(line);
            while (_lines.Count > maxLines)
            {
                _lines.Dequeue();
            }
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            var sb = new StringBuilder();
            foreach (var line in _lines)
            {
                sb.AppendLine(line);
            }
            return sb.ToString();
        }
    }
}
