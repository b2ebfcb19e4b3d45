using System.Diagnostics;
using System.Globalization;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.S3;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Benchmarks;

/// <summary>
/// <c>restore</c> (every member restores from the S3 copy; no local copy is kept between rounds): a 3-member etcd (members started and stopped by scripts), a plan-server process,
/// three node-agent processes and Ceph RGW. A one-time snapshot of a ~N MB db is taken, then, in
/// turns: NodeAgent's restore of it (every member downloads the S3 copy, restores, starts; the
/// time of each phase is printed), and the same done by hand on the same machine — `aws s3 cp`
/// on every member at once, `etcdctl snapshot restore` on every member at once, start all, wait
/// until all are healthy — the floor a restore cannot beat here.
/// </summary>
internal static class RestoreBenchmark
{
    public static async Task RunAsync(int sizeMb, int rounds, string? tracePath, TextWriter output)
    {
        using var trace = new BenchmarkTrace(tracePath);
        await using var server = await PlanServerProcess.StartAsync();
        trace.Hook("server", server.Process);
        await using var etcd = await ScriptedEtcdCluster.StartAsync(3);
        await using var ceph = await CephRgwServer.StartAsync();
        var bucket = "bench-" + Guid.NewGuid().ToString("N")[..8];
        await ceph.CreateBucketAsync(bucket);
        var clock = Stopwatch.StartNew();
        await EtcdData.LoadAsync(etcd.Members[0].ClientUrl, sizeMb);
        output.WriteLine($"restore: {sizeMb} MB loaded in {clock.Elapsed.TotalSeconds:0.0} s");

        var admin = server.CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(admin);
        var snapshots = new SnapshotService.SnapshotServiceClient(admin);
        var operations = new OperationService.OperationServiceClient(admin);
        var token = (await clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "bench",
            Runtime = Runtime.Etcd,
            SnapshotSettings = new SnapshotSettings
            {
                RecurringEnabled = false,
                S3 = ceph.PlanS3Target(bucket),
            },
        })).BootstrapToken;
        var dirs = new List<TempDir>();
        var agents = new List<AgentProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var dir = new TempDir("nodeagent-bench-node-");
                dirs.Add(dir);
                agents.Add(AgentProcess.Start(AgentConfigs.ScriptedEtcd(server, "bench", $"node-{i + 1}", etcd.Members[i], token, Path.Combine(dir.Path, "data")), dir));
                trace.Hook($"node-{i + 1}", agents[^1].Process);
            }
            await clusters.UntilPlansAppliedAsync("bench", 3);
            var op = (await snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "bench" })).Operation;
            var saved = await WatchAsync(operations, op.Id, trace);
            if (saved.Operation.Phase != OperationPhase.Finished)
            {
                throw new InvalidOperationException($"the snapshot ended {saved.Operation.Phase}: {saved.Operation.Failure}");
            }
            Snapshot? snapshot = null;
            await OperationWaits.UntilAsync(async ct =>
            {
                var catalog = (await snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "bench" }, cancellationToken: ct)).Snapshots;
                snapshot = catalog.FirstOrDefault(s => s.Node == "node-1" && s.Storage == StorageKind.S3);
                return snapshot is not null;
            });
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"snapshot {snapshot!.Name}: {snapshot.Size / 1048576.0:0} MiB"));

            var ours = new List<double>();
            var floors = new List<double>();
            for (var round = 1; round <= rounds; round++)
            {
                // Like the hand-run, every member downloads: no node keeps a copy from an earlier round
                // (the one that took the snapshot would otherwise skip its download).
                foreach (var dir in dirs)
                {
                    File.Delete(Path.Combine(dir.Path, "data", "server", "db", "snapshots", snapshot.Name));
                }
                var restore = (await snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
                {
                    Cluster = "bench", Snapshot = snapshot.Name, RestoreMode = RestoreMode.None, SafetySnapshot = false,
                })).Operation;
                var watched = await WatchAsync(operations, restore.Id, trace);
                if (watched.Operation.Phase != OperationPhase.Finished)
                {
                    throw new InvalidOperationException($"the restore ended {watched.Operation.Phase}: {watched.Operation.Failure}");
                }
                ours.Add(watched.Total.TotalSeconds);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round}: node-agent restore {watched.Total.TotalSeconds:0.00} s = {string.Join(" + ", watched.Phases.Select(p => $"{Name(p.Phase)} {p.Took.TotalSeconds:0.00} s"))}"));

                var floor = await HandRunAsync(etcd, ceph, bucket, snapshot.Name, trace);
                floors.Add(floor.Total);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  round {round}: by hand {floor.Total:0.00} s = aws s3 cp x3 {floor.Download:0.00} s + etcdctl snapshot restore x3 {floor.Restore:0.00} s + start and healthy {floor.Start:0.00} s"));
            }
            var oursMedian = Measurement.Median(ours);
            var floorMedian = Measurement.Median(floors);
            output.WriteLine();
            output.WriteLine("summary:");
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  3 members, {snapshot.Size / 1048576.0:0} MiB from S3: node-agent restore {oursMedian:0.00} s vs by hand {floorMedian:0.00} s = ratio {oursMedian / floorMedian:0.00}"));
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }
            foreach (var dir in dirs)
            {
                dir.Dispose();
            }
        }
    }

    private static string Name(OperationPhase phase) => phase switch
    {
        OperationPhase.Started => "checks (download, verify)",
        OperationPhase.Shutdown => "shutdown",
        OperationPhase.Restore => "restore",
        OperationPhase.RestartCluster => "restart and healthy",
        _ => phase.ToString(),
    };

    /// <summary>What an engineer would do on the three nodes at once, timed step by step.</summary>
    private static async Task<(double Download, double Restore, double Start, double Total)> HandRunAsync(
        ScriptedEtcdCluster etcd, CephRgwServer ceph, string bucket, string snapshot, BenchmarkTrace trace)
    {
        var files = etcd.Members.Select(m => Path.Combine(m.Directory, "hand.db")).ToArray();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(etcd.Members.Select((m, i) => ceph.Aws().CopyDownAsync(bucket, snapshot, files[i])));
        var download = clock.Elapsed.TotalSeconds;
        trace.Line("hand", "downloaded; stopping every member");
        await Task.WhenAll(etcd.Members.Select(async m =>
        {
            await m.StopAsync();
            trace.Line("hand", $"{m.Name} stopped");
        }));
        await Task.WhenAll(etcd.Members.Select(async (m, i) =>
        {
            var restored = m.DataDir + ".hand";
            (await Etcdctl.SnapshotRestoreAsync(files[i], restored, m.Name, m.InitialCluster, m.PeerUrl, TimeSpan.FromMinutes(20))).EnsureSuccess();
            Directory.Delete(m.DataDir, recursive: true);
            Directory.Move(restored, m.DataDir);
        }));
        var restore = clock.Elapsed.TotalSeconds - download;
        await Task.WhenAll(etcd.Members.Select(m => m.StartAsync()));
        await Task.WhenAll(etcd.Members.Select(m => m.WaitHealthyAsync()));
        var total = clock.Elapsed.TotalSeconds;
        foreach (var file in files)
        {
            File.Delete(file);
        }
        return (download, restore, total - download - restore, total);
    }

    private static async Task<(Operation Operation, TimeSpan Total, List<(OperationPhase Phase, TimeSpan Took)> Phases)> WatchAsync(
        OperationService.OperationServiceClient operations, string id, BenchmarkTrace trace)
    {
        var clock = Stopwatch.StartNew();
        var phases = new List<(OperationPhase, TimeSpan)>();
        var phase = OperationPhase.Unspecified;
        var since = TimeSpan.Zero;
        using var watch = operations.WatchOperation(new WatchOperationRequest { Id = id });
        Operation last = null!;
        while (await watch.ResponseStream.MoveNext(CancellationToken.None))
        {
            last = watch.ResponseStream.Current.Operation;
            trace.Line("watch", $"{last.Phase} {string.Join(" | ", last.Nodes.Select(n => $"{n.Node} {n.InstructionId} {n.State}"))}");
            if (last.Phase != phase)
            {
                if (phase != OperationPhase.Unspecified)
                {
                    phases.Add((phase, clock.Elapsed - since));
                }
                phase = last.Phase;
                since = clock.Elapsed;
            }
        }
        return (last, clock.Elapsed, phases);
    }
}
