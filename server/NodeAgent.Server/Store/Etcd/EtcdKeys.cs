using System.Text;
using Etcdserverpb;
using Google.Protobuf;

namespace NodeAgent.Server.Store.Etcd;

/// <summary>
/// Where each record lives under the store's prefix. One key per record, the record's revision is
/// the key's mod revision, and two small indexes (credential → node, operation id → cluster) plus
/// one key per cluster naming its active operation (at most one: created only where absent).
/// <code>
/// PREFIX/clusters/CLUSTER                  ClusterEntry (JSON)
/// PREFIX/nodes/CLUSTER/NODE                NodeRecord (JSON)
/// PREFIX/credentials/SHA256                CLUSTER/NODE
/// PREFIX/init-nodes/CLUSTER                the name of the cluster's init node, kept with the node records
/// PREFIX/operations/CLUSTER/ID             OperationEntry (JSON)
/// PREFIX/operation-clusters/ID             CLUSTER
/// PREFIX/active/CLUSTER                    ID of the cluster's active operation
/// PREFIX/snapshots/CLUSTER/local/NODE      SnapshotInventory (protobuf): what NODE holds
/// PREFIX/snapshots/CLUSTER/s3              SnapshotInventory (protobuf): the cluster's S3 folder
/// PREFIX/configurations/SHA256             a cluster configuration text
/// PREFIX/health                            written by the health check
/// PREFIX/leader                            the replica that drives operations (leased)
/// PREFIX/server-files/PATH                 admin-token, tls/ca.crt, tls/ca.key: shared by every replica
/// </code>
/// </summary>
internal sealed class EtcdKeys(string prefix)
{
    public string Prefix { get; } = prefix;

    public string Root => Prefix + "/";

    public string Cluster(string name) => $"{Prefix}/clusters/{name}";

    public string Clusters => $"{Prefix}/clusters/";

    public string Node(string cluster, string name) => $"{Prefix}/nodes/{cluster}/{name}";

    public string Nodes(string cluster) => $"{Prefix}/nodes/{cluster}/";

    public string AllNodes => $"{Prefix}/nodes/";

    public string Credential(string hash) => $"{Prefix}/credentials/{hash}";

    public string InitNode(string cluster) => $"{Prefix}/init-nodes/{cluster}";

    public string Operation(string cluster, string id) => $"{Prefix}/operations/{cluster}/{id}";

    public string Operations(string cluster) => $"{Prefix}/operations/{cluster}/";

    public string AllOperations => $"{Prefix}/operations/";

    public string OperationCluster(string id) => $"{Prefix}/operation-clusters/{id}";

    public string Active(string cluster) => $"{Prefix}/active/{cluster}";

    public string AllActive => $"{Prefix}/active/";

    public string LocalInventory(string cluster, string node) => $"{Prefix}/snapshots/{cluster}/local/{node}";

    public string S3Inventory(string cluster) => $"{Prefix}/snapshots/{cluster}/s3";

    public string Snapshots(string cluster) => $"{Prefix}/snapshots/{cluster}/";

    public string Configuration(string sha256) => $"{Prefix}/configurations/{sha256}";

    public string Health => $"{Prefix}/health";

    public string Leader => $"{Prefix}/leader";

    /// <summary>The files every replica shares (admin-token, tls/ca.crt, tls/ca.key), by their path in a data dir.</summary>
    public string ServerFile(string name) => $"{Prefix}/server-files/{name}";

    public string ServerFiles => $"{Prefix}/server-files/";

    /// <summary>The cluster a key of a cluster's records belongs to (clusters/, nodes/, operations/, active/, snapshots/), or null.</summary>
    public string? ClusterOf(string key)
    {
        if (!key.StartsWith(Root, StringComparison.Ordinal))
        {
            return null;
        }
        var parts = key[Root.Length..].Split('/');
        return parts.Length >= 2 && parts[0] is "clusters" or "nodes" or "operations" or "active" or "snapshots" ? parts[1] : null;
    }

    /// <summary>The operation id of an operations/CLUSTER/ID key, or null.</summary>
    public string? OperationOf(string key)
        => key.StartsWith(AllOperations, StringComparison.Ordinal) && key[AllOperations.Length..].Split('/') is [_, var id] ? id : null;
}

/// <summary>The small pieces of etcd's KV requests the stores build.</summary>
internal static class Kv
{
    public static ByteString Key(string key) => ByteString.CopyFromUtf8(key);

    public static string Text(ByteString bytes) => bytes.ToStringUtf8();

    /// <summary>The end of the range of every key that starts with <paramref name="prefix"/>.</summary>
    public static ByteString RangeEnd(string prefix)
    {
        var bytes = Encoding.UTF8.GetBytes(prefix);
        for (var i = bytes.Length - 1; i >= 0; i--)
        {
            if (bytes[i] < 0xff)
            {
                bytes[i]++;
                return ByteString.CopyFrom(bytes, 0, i + 1);
            }
        }
        return ByteString.CopyFrom(0);
    }

    public static RangeRequest Get(string key) => new() { Key = Key(key) };

    public static RangeRequest Prefix(string prefix, bool keysOnly = false) => new() { Key = Key(prefix), RangeEnd = RangeEnd(prefix), KeysOnly = keysOnly };

    /// <summary>The key's mod revision is <paramref name="revision"/> (0: the key does not exist).</summary>
    public static Compare ModRevisionIs(string key, long revision) => new()
    {
        Key = Key(key),
        Target = Compare.Types.CompareTarget.Mod,
        Result = Compare.Types.CompareResult.Equal,
        ModRevision = revision,
    };

    public static Compare Absent(string key) => new()
    {
        Key = Key(key),
        Target = Compare.Types.CompareTarget.Create,
        Result = Compare.Types.CompareResult.Equal,
        CreateRevision = 0,
    };

    public static Compare Exists(string key) => new()
    {
        Key = Key(key),
        Target = Compare.Types.CompareTarget.Create,
        Result = Compare.Types.CompareResult.Greater,
        CreateRevision = 0,
    };

    public static Compare ValueIs(string key, string value) => new()
    {
        Key = Key(key),
        Target = Compare.Types.CompareTarget.Value,
        Result = Compare.Types.CompareResult.Equal,
        Value = ByteString.CopyFromUtf8(value),
    };

    public static RequestOp Put(string key, ByteString value) => new() { RequestPut = new PutRequest { Key = Key(key), Value = value } };

    public static RequestOp Put(string key, string value) => Put(key, ByteString.CopyFromUtf8(value));

    public static RequestOp Delete(string key) => new() { RequestDeleteRange = new DeleteRangeRequest { Key = Key(key) } };

    public static RequestOp DeletePrefix(string prefix) => new() { RequestDeleteRange = new DeleteRangeRequest { Key = Key(prefix), RangeEnd = RangeEnd(prefix) } };
}
