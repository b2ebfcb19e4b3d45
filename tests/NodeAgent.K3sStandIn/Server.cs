namespace NodeAgent.K3sStandIn;

/// <summary>
/// <c>k3s server</c> without <c>--cluster-reset</c>: the tombstone, then the existing / join / new
/// decision (reference note §1), etcd until ready, the bootstrap marker, and the leader's learner
/// promotion until SIGTERM.
/// </summary>
internal sealed class Server(ServerSettings settings, StandInLog log)
{
    private readonly NodeFiles _files = new(settings, log);

    private string ReadyFile => Path.Combine(settings.RunDir, "ready");

    public async Task<int> RunAsync(CancellationToken stop)
    {
        Directory.CreateDirectory(settings.RunDir);
        File.Delete(ReadyFile);
        try
        {
            return await StartAndRunAsync(stop);
        }
        finally
        {
            File.Delete(ReadyFile);
        }
    }

    private async Task<int> StartAndRunAsync(CancellationToken stop)
    {
        if (File.Exists(_files.TombstoneFile))
        {
            if (settings.ServerUrl.Length == 0)
            {
                throw new StandInException($"tombstone file has been detected but --server is empty: cannot rejoin the cluster ({_files.TombstoneFile})");
            }
            log.Info($"tombstone file has been detected, removing {settings.DbDir} to rejoin the cluster");
            var backup = _files.BackupEtcdWithRetention();
            log.Info($"etcd data moved to {backup}");
        }
        EtcdChild etcd;
        string name;
        if (_files.HasWal)
        {
            log.Info("Managed etcd cluster bootstrap already complete and initialized");
            log.Info("Starting etcd for existing cluster member");
            name = _files.EnsureName();
            etcd = EtcdChild.Start(settings, name, $"{name}={settings.PeerUrl}", "existing", forceNewCluster: false, log);
        }
        else if (settings.ServerUrl.Length > 0)
        {
            (etcd, name) = await new Join(settings, _files, log).RunAsync(stop);
        }
        else if (settings.ClusterInit)
        {
            log.Info("Starting etcd for new cluster, cluster-reset=false");
            name = _files.WriteNewName();
            etcd = EtcdChild.Start(settings, name, $"{name}={settings.PeerUrl}", "new", forceNewCluster: false, log);
        }
        else
        {
            return await RunWithoutEtcdAsync(stop);
        }
        await using (etcd)
        {
            try
            {
                await Readiness.WaitAsync(settings, etcd, name, log, stop);
                await ReconcileBootstrapAsync(stop);
                if (File.Exists(_files.ResetFlag))
                {
                    // K3s deletes it once the metadata controller has cleared the Nodes' annotations; no
                    // apiserver here, so at the first ready normal start.
                    File.Delete(_files.ResetFlag);
                    log.Info($"Removed {_files.ResetFlag} after a cluster reset");
                }
                log.Info($"etcd data store connection OK; {settings.Runtime} is up and running (member {name})");
                // What systemd's READY=1 would say: tests wait for it besides etcd's own health.
                Directory.CreateDirectory(settings.RunDir);
                File.WriteAllText(ReadyFile, name + "\n");
                return await RunUntilStoppedAsync(etcd, name, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                log.Info("Shutdown request received: terminated");
                return 0;
            }
        }
    }

    /// <summary>The CA and token from the datastore's bootstrap marker; a datastore of another token is fatal.</summary>
    private async Task ReconcileBootstrapAsync(CancellationToken stop)
    {
        var tool = new EtcdTool(settings.ClientUrl);
        var token = settings.Token.Length > 0 ? settings.Token : NodeFiles.NewToken();
        var key = NodeFiles.BootstrapKey(token);
        var ca = await tool.GetAsync(key, stop) ?? throw new StandInException("cannot read the bootstrap data from etcd");
        if (ca.Length == 0)
        {
            var others = await tool.KeysAsync("/bootstrap/", stop) ?? [];
            if (others.Count > 0)
            {
                throw new StandInException("bootstrap data already found and encrypted with different token");
            }
            ca = _files.LocalCa ?? NodeFiles.NewCaId();
            if (!await tool.PutAsync(key, ca, stop))
            {
                throw new StandInException("cannot save the bootstrap data to etcd");
            }
            log.Info($"Saved bootstrap data (CA {ca})");
        }
        _files.WriteBootstrapFiles(ca, token);
    }

    /// <summary>The leader promotes learners every promote period (K3s <c>manageLearners</c>, 15 s); a removed member tombstones itself.</summary>
    private async Task<int> RunUntilStoppedAsync(EtcdChild etcd, string name, CancellationToken stop)
    {
        var tool = new EtcdTool(settings.ClientUrl);
        var hold = Path.Combine(settings.Wrapper.NodeRoot, "standin-hold-learners");
        while (true)
        {
            var tick = Task.Delay(settings.Wrapper.PromotePeriod, stop);
            var done = await Task.WhenAny(tick, etcd.Removed, etcd.Exited);
            if (done == etcd.Removed)
            {
                File.WriteAllText(_files.TombstoneFile, "");
                log.Error($"This node has been removed from the cluster - please restart {settings.Runtime} to rejoin the cluster");
                return 1;
            }
            if (done == etcd.Exited)
            {
                throw new StandInException($"etcd member {name} exited unexpectedly (see its lines above)");
            }
            await tick;
            if (File.Exists(hold))
            {
                continue;
            }
            var status = await tool.StatusAsync(stop);
            if (status is null || status.Value.Member != status.Value.Leader)
            {
                continue;
            }
            // A learner without a name has not started yet (etcd learns the name from the member itself):
            // K3s waits for it to start before it tracks its progress. Promoting it early logged
            // "Promoted learner " with no name, and a test that waited for the name timed out.
            foreach (var learner in (await tool.MembersAsync(stop) ?? []).Where(m => m.IsLearner && m.Name.Length > 0))
            {
                var (ok, output) = await tool.RunAsync(["member", "promote", learner.HexId], stop);
                if (ok)
                {
                    log.Info($"Promoted learner {learner.Name}");
                }
                else
                {
                    log.Warn($"Failed to promote learner {learner.Name}: {output.Trim()}");
                }
            }
        }
    }

    /// <summary>K3s without cluster-init and without server: SQLite through kine, a datastore of its own with its own CA.</summary>
    private async Task<int> RunWithoutEtcdAsync(CancellationToken stop)
    {
        Directory.CreateDirectory(settings.DbDir);
        File.WriteAllText(Path.Combine(settings.DbDir, "state.db"), "");
        var ca = _files.LocalCa ?? NodeFiles.NewCaId();
        _files.WriteBootstrapFiles(ca, settings.Token.Length > 0 ? settings.Token : NodeFiles.NewToken());
        log.Info($"Configuring sqlite3 database connection pooling (stand-in: no etcd; a datastore of its own at {settings.DbDir}/state.db, CA {ca})");
        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        catch (OperationCanceledException)
        {
        }
        return 0;
    }
}
