using System.Globalization;
using System.Text.Json;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Cli;

/// <summary><c>ls -o table | json | yaml</c>. The table has K3s's columns (Name Location Size Created) and ours after them.</summary>
internal static class SnapshotListPrinter
{
    public static void Print(TextWriter output, IReadOnlyList<SnapshotListing> snapshots, string format)
    {
        switch (format)
        {
            case "json":
                output.WriteLine(JsonSerializer.Serialize(snapshots.ToList(), SnapshotJsonContext.Default.ListSnapshotListing));
                break;
            case "yaml":
                Yaml(output, snapshots);
                break;
            default:
                Table(output, snapshots);
                break;
        }
    }

    /// <summary>
    /// A YAML sequence of flat maps, strings in JSON's double-quoted form (valid YAML, and no value
    /// can turn into a number or a boolean). Written by hand: the reflection serializer is not AOT-safe.
    /// </summary>
    private static void Yaml(TextWriter output, IReadOnlyList<SnapshotListing> snapshots)
    {
        if (snapshots.Count == 0)
        {
            output.WriteLine("[]");
            return;
        }
        foreach (var s in snapshots)
        {
            output.WriteLine($"- name: {Quote(s.Name)}");
            output.WriteLine($"  location: {Quote(s.Location)}");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  size: {s.Size}"));
            output.WriteLine($"  createdAt: {Quote(Created(s.CreatedAt))}");
            output.WriteLine($"  nodeName: {Quote(s.NodeName)}");
            output.WriteLine($"  compressed: {(s.Compressed ? "true" : "false")}");
            output.WriteLine($"  status: {Quote(s.Status)}");
            output.WriteLine($"  sha256: {Quote(s.Sha256)}");
        }
    }

    private static string Quote(string value) => JsonSerializer.Serialize(value, SnapshotJsonContext.Default.String);

    private static void Table(TextWriter output, IReadOnlyList<SnapshotListing> snapshots)
    {
        string[] headers = ["Name", "Location", "Size", "Created", "Node", "Compressed", "Status"];
        var rows = snapshots.Select(s => new[]
        {
            s.Name, s.Location, s.Size.ToString(CultureInfo.InvariantCulture), Created(s.CreatedAt), s.NodeName, s.Compressed ? "true" : "false", s.Status,
        }).ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine(Row(headers, widths));
        foreach (var row in rows)
        {
            output.WriteLine(Row(row, widths));
        }
    }

    private static string Row(string[] cells, int[] widths)
        => string.Join(' ', cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();

    private static string Created(DateTimeOffset created) => created.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
