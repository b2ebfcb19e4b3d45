using System.Text.Json;
using System.Text.Json.Serialization;
using Google.Protobuf;

namespace NodeAgent.Server.Store.Etcd;

/// <summary>The records' values in etcd: the JSON forms plan-server export writes (<see cref="ClusterEntry"/>, <see cref="OperationEntry"/>, <see cref="NodeRecord"/>), as UTF-8.</summary>
internal static class EtcdJson
{
    public static ByteString Of(ClusterRecord cluster)
        => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(ClusterEntry.Of(cluster), EtcdJsonContext.Default.ClusterEntry));

    public static ByteString Of(NodeRecord node)
        => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(node, EtcdJsonContext.Default.NodeRecord));

    public static ByteString Of(Domain.OperationRecord operation)
        => ByteString.CopyFrom(JsonSerializer.SerializeToUtf8Bytes(OperationEntry.Of(operation), EtcdJsonContext.Default.OperationEntry));

    public static ClusterRecord Cluster(Mvccpb.KeyValue kv)
        => Read(kv, EtcdJsonContext.Default.ClusterEntry).ToRecord() with { Revision = kv.ModRevision };

    public static NodeRecord Node(Mvccpb.KeyValue kv)
        => Read(kv, EtcdJsonContext.Default.NodeRecord) with { Revision = kv.ModRevision };

    public static Domain.OperationRecord Operation(Mvccpb.KeyValue kv)
        => Read(kv, EtcdJsonContext.Default.OperationEntry).ToRecord() with { Revision = kv.ModRevision };

    private static T Read<T>(Mvccpb.KeyValue kv, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return JsonSerializer.Deserialize(kv.Value.Span, type)
                ?? throw new InvalidDataException($"etcd store key {kv.Key.ToStringUtf8()} holds null");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"etcd store key {kv.Key.ToStringUtf8()} does not hold a {typeof(T).Name} the plan server can read: {ex.Message}", ex);
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ClusterEntry))]
[JsonSerializable(typeof(NodeRecord))]
[JsonSerializable(typeof(OperationEntry))]
internal sealed partial class EtcdJsonContext : JsonSerializerContext;
