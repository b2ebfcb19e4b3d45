using System.Globalization;
using System.Text.Json;
using NodeAgent.Agent.Snapshots;
using YamlDotNet.Serialization;

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
                output.Write(new SerializerBuilder().Build().Serialize(snapshots.Select(ToYaml).ToList()));
                break;
            default:
                Table(output, snapshots);
                break;
        }
    }

    private static Dictionary<string, object> ToYaml(SnapshotListing s) => new(StringComparer.Ordinal)
    {
        ["name"] = s.Name,
        ["location"] = s.Location,
        ["size"] = s.Size,
        ["createdAt"] = Created(s.CreatedAt),
        ["nodeName"] = s.NodeName,
        ["compressed"] = s.Compressed,
        ["status"] = s.Status,
        ["sha256"] = s.Sha256,
    };

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
