using Google.Protobuf;
using Microsoft.Data.Sqlite;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Store;

/// <summary>Clusters and nodes in the embedded SQLite database.</summary>
internal sealed class SqlitePlanStore(SqliteDatabase database) : IPlanStore
{

    public async Task<ClusterRecord?> TryAddClusterAsync(ClusterRecord cluster, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO clusters (name, runtime, kubernetes_version, cluster_configuration, snapshot_settings,
                                  token_hash, bootstrap_token, created_at, updated_at, revision)
            VALUES ($name, $runtime, $kv, $config, $settings, $tokenHash, $bootstrap, $created, $updated, 1)
            ON CONFLICT (name) DO NOTHING
            """;
        BindCluster(command, cluster);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? cluster with { Revision = 1 } : null;
    }

    public async Task<ClusterRecord?> GetClusterAsync(string name, CancellationToken cancellationToken)
    {
        var rows = await QueryClustersAsync("WHERE name = $name", ("$name", name), cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public Task<IReadOnlyList<ClusterRecord>> ListClustersAsync(CancellationToken cancellationToken)
        => QueryClustersAsync("ORDER BY name", null, cancellationToken);

    public async Task<ClusterRecord> UpdateClusterAsync(ClusterRecord cluster, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE clusters SET runtime = $runtime, kubernetes_version = $kv, cluster_configuration = $config,
                snapshot_settings = $settings, token_hash = $tokenHash, bootstrap_token = $bootstrap,
                created_at = $created, updated_at = $updated, revision = revision + 1
            WHERE name = $name AND revision = $revision
            """;
        BindCluster(command, cluster);
        command.Parameters.AddWithValue("$revision", cluster.Revision);
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new StoreConflictException($"cluster '{cluster.Name}'");
        }
        return cluster with { Revision = cluster.Revision + 1 };
    }

    public async Task<bool> DeleteClusterAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var transaction = connection.BeginTransaction();
        await using var nodes = connection.CreateCommand();
        nodes.Transaction = transaction;
        nodes.CommandText = "DELETE FROM nodes WHERE cluster = $name; DELETE FROM operations WHERE cluster = $name; DELETE FROM snapshots WHERE cluster = $name;";
        nodes.Parameters.AddWithValue("$name", name);
        await nodes.ExecuteNonQueryAsync(cancellationToken);
        await using var clusters = connection.CreateCommand();
        clusters.Transaction = transaction;
        clusters.CommandText = "DELETE FROM clusters WHERE name = $name";
        clusters.Parameters.AddWithValue("$name", name);
        var deleted = await clusters.ExecuteNonQueryAsync(cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    public async Task<NodeRecord> UpsertNodeAsync(NodeRecord node, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = node.Revision == 0
            ? """
                INSERT INTO nodes (cluster, name, roles, init_node, credential_hash, registered_at, last_seen,
                                   applied_checksum, agent_version, credential_reset, last_report_error, etcd_member_name, etcd_peer_urls,
                                   advertise_address, runtime_version, runtime_snapshots_enabled, probes, revision)
                VALUES ($cluster, $name, $roles, $init, $credential, $registered, $lastSeen, $applied, $version, $reset, $reportError, $member, $peerUrls,
                        $advertise, $runtimeVersion, $runtimeSnapshots, $probes, 1)
                ON CONFLICT (cluster, name) DO NOTHING
                """
            : """
                UPDATE nodes SET roles = $roles, init_node = $init, credential_hash = $credential, registered_at = $registered,
                    last_seen = $lastSeen, applied_checksum = $applied, agent_version = $version, credential_reset = $reset,
                    last_report_error = $reportError, etcd_member_name = $member, etcd_peer_urls = $peerUrls,
                    advertise_address = $advertise, runtime_version = $runtimeVersion, runtime_snapshots_enabled = $runtimeSnapshots,
                    probes = $probes, revision = revision + 1
                WHERE cluster = $cluster AND name = $name AND revision = $revision
                """;
        BindNode(command, node);
        command.Parameters.AddWithValue("$revision", node.Revision);
        if (await command.ExecuteNonQueryAsync(cancellationToken) != 1)
        {
            throw new StoreConflictException($"node '{node.Name}' of cluster '{node.Cluster}'");
        }
        return node with { Revision = node.Revision + 1 };
    }

    public Task<NodeRecord> UpdateNodeAsync(NodeRecord node, CancellationToken cancellationToken)
        => node.Revision == 0
            ? throw new ArgumentException("an update names the revision it read; this node record was never read from the store", nameof(node))
            : UpsertNodeAsync(node, cancellationToken);

    public async Task<NodeRecord?> GetNodeAsync(string cluster, string name, CancellationToken cancellationToken)
    {
        var rows = await QueryNodesAsync("WHERE cluster = $cluster AND name = $name",
            [("$cluster", cluster), ("$name", name)], cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<NodeRecord?> FindNodeByCredentialHashAsync(string credentialHash, CancellationToken cancellationToken)
    {
        var rows = await QueryNodesAsync("WHERE credential_hash = $hash", [("$hash", credentialHash)], cancellationToken);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<bool> DeleteNodeAsync(string cluster, string name, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM nodes WHERE cluster = $cluster AND name = $name";
        command.Parameters.AddWithValue("$cluster", cluster);
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public Task<IReadOnlyList<NodeRecord>> ListNodesAsync(string cluster, CancellationToken cancellationToken)
        => QueryNodesAsync("WHERE cluster = $cluster ORDER BY name", [("$cluster", cluster)], cancellationToken);

    public async Task<bool> HasInitNodeAsync(string cluster, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT 1 FROM nodes WHERE cluster = $cluster AND init_node = 1 LIMIT 1";
        command.Parameters.AddWithValue("$cluster", cluster);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public Task CheckWritableAsync(CancellationToken cancellationToken) => database.CheckWritableAsync(cancellationToken);

    private SqliteConnection Open() => database.Open();

    private async Task<IReadOnlyList<ClusterRecord>> QueryClustersAsync(string where, (string Name, object Value)? parameter, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT name, runtime, kubernetes_version, cluster_configuration, snapshot_settings, token_hash,
                   bootstrap_token, created_at, updated_at, revision
            FROM clusters {where}
            """;
        if (parameter is { } p)
        {
            command.Parameters.AddWithValue(p.Name, p.Value);
        }
        var result = new List<ClusterRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new ClusterRecord(
                reader.GetString(0),
                (Runtime)reader.GetInt32(1),
                reader.GetString(2),
                reader.GetString(3),
                SnapshotSettings.Parser.ParseFrom((byte[])reader[4]),
                reader.GetString(5),
                reader.GetString(6),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(8)))
            {
                Revision = reader.GetInt64(9),
            });
        }
        return result;
    }

    private async Task<IReadOnlyList<NodeRecord>> QueryNodesAsync(string where, (string Name, object Value)[] parameters, CancellationToken cancellationToken)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT cluster, name, roles, init_node, credential_hash, registered_at, last_seen, applied_checksum, agent_version,
                   credential_reset, last_report_error, etcd_member_name, etcd_peer_urls,
                   advertise_address, runtime_version, runtime_snapshots_enabled, probes, revision
            FROM nodes {where}
            """;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        var result = new List<NodeRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new NodeRecord(
                reader.GetString(0),
                reader.GetString(1),
                SqliteSchema.ParseRoles(reader.GetString(2)),
                reader.GetInt64(3) != 0,
                reader.GetString(4),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                reader.IsDBNull(6) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6)),
                reader.GetString(7),
                reader.GetString(8),
                reader.GetInt64(9) != 0)
            {
                LastReportError = reader.GetString(10),
                EtcdMemberName = reader.GetString(11),
                EtcdPeerUrls = reader.GetString(12).Split(',', StringSplitOptions.RemoveEmptyEntries),
                AdvertiseAddress = reader.GetString(13),
                RuntimeVersion = reader.GetString(14),
                RuntimeSnapshotsEnabled = reader.GetInt64(15) != 0,
                Probes = NodeProbe.Parse(reader.GetString(16)),
                Revision = reader.GetInt64(17),
            });
        }
        return result;
    }

    private static void BindCluster(SqliteCommand command, ClusterRecord cluster)
    {
        command.Parameters.AddWithValue("$name", cluster.Name);
        command.Parameters.AddWithValue("$runtime", (int)cluster.Runtime);
        command.Parameters.AddWithValue("$kv", cluster.KubernetesVersion);
        command.Parameters.AddWithValue("$config", cluster.ClusterConfiguration);
        command.Parameters.AddWithValue("$settings", cluster.SnapshotSettings.ToByteArray());
        command.Parameters.AddWithValue("$tokenHash", cluster.TokenHash);
        command.Parameters.AddWithValue("$bootstrap", cluster.BootstrapToken);
        command.Parameters.AddWithValue("$created", cluster.CreatedAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$updated", cluster.UpdatedAt.ToUnixTimeMilliseconds());
    }

    private static void BindNode(SqliteCommand command, NodeRecord node)
    {
        command.Parameters.AddWithValue("$cluster", node.Cluster);
        command.Parameters.AddWithValue("$name", node.Name);
        command.Parameters.AddWithValue("$roles", SqliteSchema.FormatRoles(node.Roles));
        command.Parameters.AddWithValue("$init", node.InitNode ? 1 : 0);
        command.Parameters.AddWithValue("$credential", node.CredentialHash);
        command.Parameters.AddWithValue("$registered", node.RegisteredAt.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$lastSeen", node.LastSeen is { } seen ? seen.ToUnixTimeMilliseconds() : DBNull.Value);
        command.Parameters.AddWithValue("$applied", node.AppliedChecksum);
        command.Parameters.AddWithValue("$version", node.AgentVersion);
        command.Parameters.AddWithValue("$reset", node.CredentialReset ? 1 : 0);
        command.Parameters.AddWithValue("$reportError", node.LastReportError);
        command.Parameters.AddWithValue("$member", node.EtcdMemberName);
        command.Parameters.AddWithValue("$peerUrls", string.Join(',', node.EtcdPeerUrls));
        command.Parameters.AddWithValue("$advertise", node.AdvertiseAddress);
        command.Parameters.AddWithValue("$runtimeVersion", node.RuntimeVersion);
        command.Parameters.AddWithValue("$runtimeSnapshots", node.RuntimeSnapshotsEnabled ? 1 : 0);
        command.Parameters.AddWithValue("$probes", NodeProbe.Format(node.Probes));
    }
}
