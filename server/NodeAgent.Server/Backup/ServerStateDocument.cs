using System.Text.Json.Serialization;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Backup;

/// <summary>
/// Everything a plan server needs to go on elsewhere, as <c>plan-server export</c> writes it and
/// <c>plan-server import</c> reads it: the records of its stores (clusters with their bootstrap
/// tokens and S3 settings, nodes with their credentials' hashes, operations with their stored
/// instructions, the snapshot catalog and the cluster configurations it refers to) and the files
/// that keep agents and operators connected (the admin token, the CA that agents pin). Records, not
/// a database file: any store can take them. Protobuf messages are kept as base64 of their binary
/// form, byte for byte. The document holds secrets: keep it as the data dir is kept.
/// </summary>
internal sealed record ServerStateDocument
{
    public const string FormatName = "nodeagent-plan-server-state";

    public const int CurrentVersion = 1;

    // Settable, not init: the JSON source generator sets an init-only property a document leaves out to null.

    public string Format { get; set; } = FormatName;

    public int Version { get; set; } = CurrentVersion;

    public DateTimeOffset ExportedAt { get; set; }

    public List<StateFile> Files { get; set; } = [];

    public List<ClusterEntry> Clusters { get; set; } = [];

    public List<NodeRecord> Nodes { get; set; } = [];

    public List<OperationEntry> Operations { get; set; } = [];

    public List<SnapshotEntry> Snapshots { get; set; } = [];

    public Dictionary<string, string> ClusterConfigurations { get; set; } = [];
}

/// <summary>A file of the data dir, by its path under it.</summary>
internal sealed record StateFile(string Path, string Base64);

/// <summary>One copy in a cluster's snapshot catalog, as base64 protobuf.</summary>
internal sealed record SnapshotEntry(string Cluster, string Snapshot)
{
    public Snapshot ToSnapshot() => Contracts.V1.Snapshot.Parser.ParseFrom(Convert.FromBase64String(Snapshot));
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ServerStateDocument))]
internal sealed partial class ServerStateJsonContext : JsonSerializerContext;
