using System.Globalization;
using System.Text;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Ctl.Output;

/// <summary>How an operation reads to a person: phase, each node's step, bytes, rate, ETA.</summary>
internal static class OperationView
{
    private const int BarWidth = 20;

    public static string Phase(OperationPhase phase) => phase switch
    {
        OperationPhase.Started => "Started",
        OperationPhase.Shutdown => "Shutdown",
        OperationPhase.Restore => "Restore",
        OperationPhase.RestartCluster => "RestartCluster",
        OperationPhase.Finished => "Finished",
        OperationPhase.Failed => "Failed",
        OperationPhase.Cancelled => "Cancelled",
        _ => "?",
    };

    public static string Headline(Operation op)
        => $"operation {op.Id} ({op.Type.ToString().ToLowerInvariant()}{(op.Snapshot.Length > 0 ? " " + op.Snapshot : "")}) on {op.Cluster}: {Phase(op.Phase)}";

    public static IEnumerable<string> NodeLines(Operation op, bool bar = false) => op.Nodes.Select(n => NodeLine(n, bar));

    /// <param name="bar">Draw a bar of the bytes done (on a terminal).</param>
    public static string NodeLine(NodeStep step, bool bar = false)
    {
        var sb = new StringBuilder($"  {step.Node}: {step.InstructionId} {step.State.ToString().ToUpperInvariant()}");
        if (step.Progress is { BytesDone: > 0 } p)
        {
            if (bar && p.BytesTotal > 0)
            {
                var filled = (int)Math.Clamp(BarWidth * p.BytesDone / p.BytesTotal, 0, BarWidth);
                sb.Append(" [").Append('#', filled).Append('.', BarWidth - filled).Append(']');
            }
            sb.Append(CultureInfo.InvariantCulture, $" {Printer.Size(p.BytesDone)}");
            if (p.BytesTotal > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $" / {Printer.Size(p.BytesTotal)} ({100.0 * p.BytesDone / p.BytesTotal:0}%)");
            }
            if (p.BytesPerSecond > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $" {p.BytesPerSecond / 1e6:0.0} MB/s");
                if (p.BytesTotal > p.BytesDone)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" ETA {TimeSpan.FromSeconds(Math.Ceiling((p.BytesTotal - p.BytesDone) / p.BytesPerSecond)):c}");
                }
            }
        }
        if (step.Message.Length > 0)
        {
            sb.Append(" - ").Append(step.Message);
        }
        return sb.ToString();
    }

    /// <summary>A restore's init node and why it was chosen; null for other operations.</summary>
    public static string? InitNodeLine(Operation op)
        => op.InitNode.Length > 0 && op.InitNodeReason.Length > 0 ? $"  init node {op.InitNode}: {op.InitNodeReason}" : null;

    /// <summary>A restore starting the nodes again after a Shutdown failure (while it does); null otherwise.</summary>
    public static string? RecoveringLine(Operation op)
        => op.RecoveringFrom is { } f && op.Phase is not (OperationPhase.Finished or OperationPhase.Failed or OperationPhase.Cancelled)
            ? $"  recovering: {Phase(f.Phase)} failed{(f.Node.Length > 0 ? $" on node {f.Node}" : "")}{(f.InstructionId.Length > 0 ? $", step {f.InstructionId}" : "")}: {f.Message}; "
                + "every node is started again on what it had, then the restore ends Failed"
            : null;

    public static string? FailureLine(Operation op)
        => op.Failure is { } f ? $"  failed in {Phase(f.Phase)}{(f.Node.Length > 0 ? $" on node {f.Node}" : "")}{(f.InstructionId.Length > 0 ? $", step {f.InstructionId}" : "")}: {f.Message}" : null;
}
