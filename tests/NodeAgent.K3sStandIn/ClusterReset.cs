using System.IO.Compression;

namespace NodeAgent.K3sStandIn;

/// <summary>
/// <c>k3s server --cluster-reset [--cluster-reset-restore-path=P]</c> (reference note §3): the snapshot
/// (a zip unpacked first) restored into <c>db/etcd</c> with etcdctl, the old data kept as
/// <c>etcd-old-&lt;unix&gt;</c>, a new member name, <c>reset-flag</c>, etcd started with force-new-cluster,
/// the bootstrap marker checked against the token, <c>tls-&lt;unix&gt;</c>, the success line, exit 0.
/// </summary>
internal sealed class ClusterReset(ServerSettings settings, StandInLog log)
{
    private readonly NodeFiles _files = new(settings, log);

    public async Task<int> RunAsync(CancellationToken stop)
    {
        foreach (var arg in settings.EtcdArgs.Where(a => a.StartsWith("advertise-client-urls=", StringComparison.Ordinal)))
        {
            log.Info($"etcd-arg {arg} noted but not applied: every stand-in node shares this host's 127.0.0.1, so etcd advertises {settings.ClientUrl}");
        }
        string name;
        string? unzipped = null;
        try
        {
            if (settings.RestorePath.Length > 0)
            {
                var path = Path.IsPathRooted(settings.RestorePath) ? settings.RestorePath : Path.Combine(settings.ServerDir, settings.RestorePath);
                if (!File.Exists(path))
                {
                    throw new StandInException($"etcd: snapshot path does not exist: {path}");
                }
                if (path.EndsWith(".zip", StringComparison.Ordinal))
                {
                    unzipped = Unzip(path);
                    path = unzipped;
                }
                var oldName = File.Exists(_files.NameFile) ? _files.EnsureName() : null;
                if (_files.MoveEtcdOld() is { } old)
                {
                    log.Info($"Pre-restore etcd database moved to {old}");
                }
                Directory.CreateDirectory(settings.DbDir);
                var restoreName = oldName ?? settings.NodeName + "-restore";
                var (ok, output) = await new EtcdTool(settings.ClientUrl).RunAsync(
                    ["snapshot", "restore", path, "--name", restoreName, "--initial-cluster", $"{restoreName}={settings.PeerUrl}",
                     "--initial-advertise-peer-urls", settings.PeerUrl, "--data-dir", settings.EtcdDir], stop, TimeSpan.FromMinutes(5));
                if (!ok)
                {
                    throw new StandInException($"etcd: restore of {path} failed: {output.Trim()}");
                }
                log.Info($"Restored etcd snapshot {path} into {settings.EtcdDir}");
            }
            else if (File.Exists(_files.ResetFlag))
            {
                throw new StandInException($"Managed etcd cluster membership was previously reset, please remove the cluster-reset flag and start {settings.Runtime} normally. If you need to perform another cluster reset, you must first manually delete the file at {_files.ResetFlag}");
            }
            else if (!_files.HasWal)
            {
                throw new StandInException($"no etcd data at {settings.EtcdDir} to reset (the stand-in does not model a reset without data)");
            }
            name = _files.WriteNewName();
            _files.WriteResetFlag();
        }
        finally
        {
            if (unzipped is not null)
            {
                Directory.Delete(Path.GetDirectoryName(unzipped)!, recursive: true);
            }
        }
        log.Info("Starting etcd for new cluster, cluster-reset=true");
        await using var etcd = EtcdChild.Start(settings, name, $"{name}={settings.PeerUrl}", "new", forceNewCluster: true, log);
        try
        {
            await Readiness.WaitAsync(settings, etcd, name, log, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            log.Info("Shutdown request received: terminated");
            return 1;
        }
        var tool = new EtcdTool(settings.ClientUrl);
        var ca = await tool.GetAsync(NodeFiles.BootstrapKey(settings.Token), stop) ?? throw new StandInException("cannot read the bootstrap data from etcd");
        if (ca.Length == 0)
        {
            if ((await tool.KeysAsync("/bootstrap/", stop) ?? []).Count > 0)
            {
                throw new StandInException("bootstrap data already found and encrypted with different token");
            }
            ca = _files.LocalCa ?? NodeFiles.NewCaId();
            await tool.PutAsync(NodeFiles.BootstrapKey(settings.Token), ca, stop);
        }
        _files.BackupTls();
        _files.WriteBootstrapFiles(ca, settings.Token);
        var members = await tool.MembersAsync(stop) ?? [];
        if (members.Count != 1)
        {
            throw new StandInException($"cluster reset left {members.Count} members, expected 1");
        }
        log.Error($"Shutdown request received: Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. Backup and delete {settings.DataDir}/server/db on each peer etcd server and rejoin the nodes");
        return 0;
    }

    /// <summary>A K3s snapshot zip holds one entry, the snapshot; it is unpacked into a temporary dir beside the data.</summary>
    private string Unzip(string zip)
    {
        var dir = Path.Combine(settings.DbDir, ".standin-unzip-" + NodeFiles.Unix());
        Directory.CreateDirectory(dir);
        using var archive = ZipFile.OpenRead(zip);
        var entry = archive.Entries.Single(e => e.Length > 0);
        var target = Path.Combine(dir, Path.GetFileName(entry.FullName));
        entry.ExtractToFile(target);
        log.Info($"Decompressed snapshot {zip} to {target}");
        return target;
    }
}
