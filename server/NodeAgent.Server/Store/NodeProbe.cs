using System.Text.Json;
using System.Text.Json.Serialization;

namespace NodeAgent.Server.Store;

/// <summary>The last result of one probe on a node, as its agent last reported it.</summary>
internal sealed record NodeProbe(string Name, bool Healthy, string Message, DateTimeOffset CheckedAt)
{
    /// <summary>The most results one report may carry, and the longest reason kept (longer ones are cut).</summary>
    public const int MaxPerNode = 32;

    public const int MaxMessage = 4096;

    /// <summary>The nodes table's <c>probes</c> column: a JSON array, empty text for none.</summary>
    public static string Format(IReadOnlyList<NodeProbe> probes)
        => probes.Count == 0 ? "" : JsonSerializer.Serialize(probes.ToArray(), NodeProbeJsonContext.Default.NodeProbeArray);

    public static IReadOnlyList<NodeProbe> Parse(string text)
        => text.Length == 0 ? [] : JsonSerializer.Deserialize(text, NodeProbeJsonContext.Default.NodeProbeArray) ?? [];
}

[JsonSerializable(typeof(NodeProbe[]))]
internal sealed partial class NodeProbeJsonContext : JsonSerializerContext;
