using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Tools;

/// <summary>Runs Debian's etcdctl (API v3) against given endpoints.</summary>
public sealed class Etcdctl(string endpoints)
{
    public const string FileName = "/usr/bin/etcdctl";

    public Task<CommandResult> RunAsync(IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => CommandRunner.RunAsync(
            FileName,
            ["--endpoints", endpoints, .. arguments],
            new Dictionary<string, string?> { ["ETCDCTL_API"] = "3" },
            timeout: timeout,
            cancellationToken: cancellationToken);

    /// <summary><c>etcdctl snapshot save</c>: the peer a snapshot of ours is compared with.</summary>
    public Task<CommandResult> SnapshotSaveAsync(string path, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => RunAsync(["snapshot", "save", path], timeout ?? TestTimeouts.Slow, cancellationToken);

    /// <summary>
    /// <c>etcdctl snapshot restore</c> (hash check on, as by default) into <paramref name="dataDir"/>.
    /// Needs no running etcd.
    /// </summary>
    public static Task<CommandResult> SnapshotRestoreAsync(
        string snapshot, string dataDir, string name = "default", string? initialCluster = null, string? peerUrls = null,
        TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        List<string> args = ["snapshot", "restore", snapshot, "--data-dir", dataDir, "--name", name];
        if (initialCluster is not null)
        {
            args.AddRange(["--initial-cluster", initialCluster]);
        }
        if (peerUrls is not null)
        {
            args.AddRange(["--initial-advertise-peer-urls", peerUrls]);
        }
        return CommandRunner.RunAsync(FileName, args,
            new Dictionary<string, string?> { ["ETCDCTL_API"] = "3" },
            timeout: timeout ?? TestTimeouts.Slow, cancellationToken: cancellationToken);
    }
}
