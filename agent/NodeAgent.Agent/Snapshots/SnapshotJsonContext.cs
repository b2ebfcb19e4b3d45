using System.Text.Json.Serialization;

namespace NodeAgent.Agent.Snapshots;

/// <summary>Source-generated JSON for sidecars, <c>ls -o json</c> and the multipart journal.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<SnapshotListing>))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(NodeAgent.Agent.S3.PendingUpload))]
internal sealed partial class SnapshotJsonContext : JsonSerializerContext;
