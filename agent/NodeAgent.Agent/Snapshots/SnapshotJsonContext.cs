using System.Text.Json.Serialization;

namespace NodeAgent.Agent.Snapshots;

/// <summary>Source-generated JSON for sidecars and <c>ls -o json</c>.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<SnapshotListing>))]
[JsonSerializable(typeof(string))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;
