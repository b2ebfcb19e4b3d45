using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using YamlDotNet.Serialization;

namespace NodeAgent.Ctl.Output;

/// <summary>-o table | json | yaml for every read command.</summary>
internal enum OutputFormat
{
    Table,
    Json,
    Yaml,
}

/// <summary>Prints contract messages as a table (for people) or JSON / YAML (for scripts).</summary>
internal sealed class Printer(TextWriter output)
{
    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithIndentation("  "));

    public void List<T>(IReadOnlyList<T> items, OutputFormat format, IReadOnlyList<(string Header, Func<T, string> Value)> columns)
        where T : IMessage
    {
        switch (format)
        {
            case OutputFormat.Json:
                output.WriteLine(ToJsonArray(items).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
                break;
            case OutputFormat.Yaml:
                output.Write(ToYaml(ToJsonArray(items)));
                break;
            default:
                Table(items, columns);
                break;
        }
    }

    public void One<T>(T item, OutputFormat format, IReadOnlyList<(string Header, Func<T, string> Value)> columns)
        where T : IMessage
    {
        switch (format)
        {
            case OutputFormat.Json:
                output.WriteLine(Json.Format(item));
                break;
            case OutputFormat.Yaml:
                output.Write(ToYaml(JsonNode.Parse(Json.Format(item))));
                break;
            default:
                foreach (var (header, value) in columns)
                {
                    output.WriteLine($"{header + ":",-22}{value(item)}");
                }
                break;
        }
    }

    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):0.0} GiB"),
        >= 1L << 20 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 20):0.0} MiB"),
        >= 1L << 10 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} KiB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
    };

    public static string Time(Google.Protobuf.WellKnownTypes.Timestamp? timestamp)
        => timestamp is null ? "" : timestamp.ToDateTimeOffset().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private void Table<T>(IReadOnlyList<T> items, IReadOnlyList<(string Header, Func<T, string> Value)> columns)
    {
        var rows = items.Select(item => columns.Select(c => c.Value(item)).ToArray()).ToList();
        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        output.WriteLine(Row(columns.Select(c => c.Header).ToArray(), widths));
        foreach (var row in rows)
        {
            output.WriteLine(Row(row, widths));
        }
    }

    private static string Row(string[] cells, int[] widths)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < cells.Length; i++)
        {
            sb.Append(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }
        return sb.ToString().TrimEnd();
    }

    private static JsonArray ToJsonArray<T>(IEnumerable<T> items)
        where T : IMessage
        => new(items.Select(i => JsonNode.Parse(Json.Format(i))).ToArray());

    private static string ToYaml(JsonNode? node) => new SerializerBuilder().Build().Serialize(ToPlain(node));

    private static object? ToPlain(JsonNode? node) => node switch
    {
        JsonObject o => o.ToDictionary(p => p.Key, p => ToPlain(p.Value)),
        JsonArray a => a.Select(ToPlain).ToList(),
        JsonValue v => v.GetValueKind() switch
        {
            System.Text.Json.JsonValueKind.String => v.GetValue<string>(),
            System.Text.Json.JsonValueKind.True => true,
            System.Text.Json.JsonValueKind.False => false,
            System.Text.Json.JsonValueKind.Number => v.GetValue<double>(),
            _ => null,
        },
        _ => null,
    };
}
