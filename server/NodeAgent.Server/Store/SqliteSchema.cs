using System.Globalization;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Store;

/// <summary>The SQLite schema (created if missing) and the small encodings it uses.</summary>
internal static class SqliteSchema
{
    public const string Create = """
        CREATE TABLE IF NOT EXISTS clusters (
            name TEXT PRIMARY KEY,
            runtime INTEGER NOT NULL,
            kubernetes_version TEXT NOT NULL,
            cluster_configuration TEXT NOT NULL,
            snapshot_settings BLOB NOT NULL,
            token_hash TEXT NOT NULL,
            bootstrap_token TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS nodes (
            cluster TEXT NOT NULL REFERENCES clusters(name),
            name TEXT NOT NULL,
            roles TEXT NOT NULL,
            init_node INTEGER NOT NULL,
            credential_hash TEXT NOT NULL,
            registered_at INTEGER NOT NULL,
            last_seen INTEGER,
            applied_checksum TEXT NOT NULL,
            agent_version TEXT NOT NULL,
            last_report_error TEXT NOT NULL DEFAULT '',
            etcd_member_name TEXT NOT NULL DEFAULT '',
            etcd_peer_urls TEXT NOT NULL DEFAULT '',
            advertise_address TEXT NOT NULL DEFAULT '',
            runtime_version TEXT NOT NULL DEFAULT '',
            runtime_snapshots_enabled INTEGER NOT NULL DEFAULT 0,
            probes TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (cluster, name));
        CREATE UNIQUE INDEX IF NOT EXISTS nodes_credential ON nodes(credential_hash);
        CREATE TABLE IF NOT EXISTS operations (
            id TEXT PRIMARY KEY,
            cluster TEXT NOT NULL,
            active INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            phase_deadline INTEGER NOT NULL,
            compress INTEGER NOT NULL,
            state BLOB NOT NULL,
            restore TEXT,
            restore_progress TEXT,
            instructions TEXT);
        CREATE UNIQUE INDEX IF NOT EXISTS operations_one_active ON operations(cluster) WHERE active = 1;
        CREATE TABLE IF NOT EXISTS snapshots (
            cluster TEXT NOT NULL,
            storage INTEGER NOT NULL,
            location TEXT NOT NULL,
            node TEXT NOT NULL,
            reported_by TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            snapshot BLOB NOT NULL,
            PRIMARY KEY (cluster, storage, location));
        CREATE TABLE IF NOT EXISTS cluster_configurations (
            sha256 TEXT PRIMARY KEY,
            text TEXT NOT NULL);
        """;

    /// <summary>Columns added after a database may have been created: (table, column, definition).</summary>
    public static readonly (string Table, string Column, string Definition)[] AddedColumns =
    [
        ("operations", "restore", "TEXT"),
        ("nodes", "credential_reset", "INTEGER NOT NULL DEFAULT 0"),
        ("nodes", "last_report_error", "TEXT NOT NULL DEFAULT ''"),
        ("nodes", "etcd_member_name", "TEXT NOT NULL DEFAULT ''"),
        ("nodes", "etcd_peer_urls", "TEXT NOT NULL DEFAULT ''"),
        ("nodes", "advertise_address", "TEXT NOT NULL DEFAULT ''"),
        ("nodes", "runtime_version", "TEXT NOT NULL DEFAULT ''"),
        ("nodes", "runtime_snapshots_enabled", "INTEGER NOT NULL DEFAULT 0"),
        ("operations", "restore_progress", "TEXT"),
        ("operations", "instructions", "TEXT"),
        ("nodes", "probes", "TEXT NOT NULL DEFAULT ''"),
        // Bumped by every update; an update names the revision it read (no lost update).
        ("clusters", "revision", "INTEGER NOT NULL DEFAULT 1"),
        ("nodes", "revision", "INTEGER NOT NULL DEFAULT 1"),
        ("operations", "revision", "INTEGER NOT NULL DEFAULT 1"),
    ];

    public static string FormatRoles(IEnumerable<NodeRole> roles)
        => string.Join(',', roles.Select(r => ((int)r).ToString(CultureInfo.InvariantCulture)));

    public static IReadOnlyList<NodeRole> ParseRoles(string text)
        => text.Length == 0
            ? []
            : text.Split(',').Select(s => (NodeRole)int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
}
