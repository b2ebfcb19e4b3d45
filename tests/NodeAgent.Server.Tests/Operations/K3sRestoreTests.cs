using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>
/// A K3s/RKE2 restore as Rancher's planner runs it, on the real plan server with agents simulated
/// over real gRPC: the exact instruction list each node gets in each phase, one server at a time in
/// the restart, the join URL, the final pass, the restore modes' node steps and the recovery of a
/// failed Shutdown.
/// </summary>
public sealed class K3sRestoreTests : IAsyncLifetime
{
    private const string Snapshot = "on-demand-node-b-1700000000";
    private const string Sha = "5f4c3b2a19087766554433221100ffeeddccbbaa99887766554433221100ffee";
    private const string Version = "v1.29.2+k3s1";
    private const string Configuration = """{"format":"nodeagent.runtime-config/v1","files":[{"path":"/etc/rancher/k3s/config.yaml","content":"cni: calico\n","removedKeys":["token"]}]}""";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private InProcessPlanServer _server = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync(_time).WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Restore_LocalSnapshotOnAnotherServer_EachNodeGetsRanchersStepsPerPhase_OneAtATime_ThenTheFinalPass()
    {
        var (a, b, c, d, w) = await FiveNodesAsync(Runtime.K3S);
        await ReportLocalSnapshotAsync(b);
        var op = await RestoreAsync(RestoreMode.None);
        Assert.Equal("node-b", op.InitNode);

        // Started: only the node holding the file checks it.
        await NothingAsync(a, c, d, w);
        await CompleteAsync(b, "started/verify-snapshot");

        // Shutdown: killall everywhere, nothing destroyed yet.
        foreach (var node in new[] { a, b, c, d, w })
        {
            await CompleteAsync(node, "shutdown/killall");
        }

        // Restore: the init node bootstraps alone (server: ""); the other etcd nodes are tombstoned
        // and lose tls/cred, the control-plane node loses tls/cred, the worker does nothing.
        Assert.Equal(OperationPhase.Restore, (await GetAsync(op.Id)).Phase);
        var initRestore = await ExpectAsync(b, "restore/write-config-drop-in", "restore/restore-snapshot");
        Assert.Equal("", initRestore.Operation.Instructions[0].WriteConfigDropIn.Server);
        Assert.Equal(Sha, initRestore.Operation.Instructions[1].RestoreSnapshot.Sha256);
        var aRestore = await ExpectAsync(a, "restore/remove-etcd-data", "restore/remove-server-credentials");
        Assert.True(aRestore.Operation.Instructions[0].RemoveEtcdData.Tombstone);
        await ExpectAsync(c, "restore/remove-etcd-data", "restore/remove-server-credentials");
        await ExpectAsync(d, "restore/remove-server-credentials");
        await NothingAsync(w);
        foreach (var node in new[] { a, b, c, d })
        {
            await CompleteAsync(node);
        }

        // RestartCluster pass 1: the init node alone.
        Assert.Equal(OperationPhase.RestartCluster, (await GetAsync(op.Id)).Phase);
        await NothingAsync(a, c, d, w);
        await CompleteAsync(b, "restart-cluster/start-runtime", "restart-cluster/wait-healthy");

        // Pass 2: one node at a time, etcd nodes by name, then control plane, then workers; the
        // servers are pointed at the init node's join URL first.
        var joinA = await ExpectAsync(a, "restart-cluster/write-config-drop-in", "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        Assert.Equal("https://10.0.0.2:6443", joinA.Operation.Instructions[0].WriteConfigDropIn.Server);
        Assert.False(joinA.Operation.Instructions[1].StartRuntime.SkipEtcdWait);
        Assert.False(joinA.Operation.Instructions[1].StartRuntime.Restart);
        await NothingAsync(c, d, w);
        Assert.Contains("node-a", (await GetAsync(op.Id)).Nodes.Single(n => n.Node == "node-c").Message, StringComparison.Ordinal);
        await CompleteAsync(a);
        await NothingAsync(d, w);
        await CompleteAsync(c, "restart-cluster/write-config-drop-in", "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        await NothingAsync(w);
        var joinD = await ExpectAsync(d, "restart-cluster/write-config-drop-in", "restart-cluster/start-runtime");
        Assert.Equal("https://10.0.0.2:6443", joinD.Operation.Instructions[0].WriteConfigDropIn.Server);
        Assert.True(joinD.Operation.Instructions[1].StartRuntime.SkipEtcdWait);
        await CompleteAsync(d);
        var startW = await ExpectAsync(w, "restart-cluster/start-runtime");
        Assert.True(startW.Operation.Instructions[0].StartRuntime.SkipEtcdWait);
        await CompleteAsync(w);

        // Pass 3 (final): the drop-in goes and each server restarts, one at a time, init node first.
        var finalB = await ExpectAsync(b, "restart-cluster/final-remove-config-drop-in", "restart-cluster/final-restart-runtime", "restart-cluster/final-wait-healthy");
        Assert.Equal(Instruction.KindOneofCase.RemoveConfigDropIn, finalB.Operation.Instructions[0].KindCase);
        Assert.True(finalB.Operation.Instructions[1].StartRuntime.Restart);
        await NothingAsync(a, c, d, w);
        await CompleteAsync(b);
        await NothingAsync(c, d, w);
        await CompleteAsync(a, "restart-cluster/final-remove-config-drop-in", "restart-cluster/final-restart-runtime", "restart-cluster/final-wait-healthy");
        await CompleteAsync(c, "restart-cluster/final-remove-config-drop-in", "restart-cluster/final-restart-runtime", "restart-cluster/final-wait-healthy");
        var finalD = await ExpectAsync(d, "restart-cluster/final-remove-config-drop-in", "restart-cluster/final-restart-runtime");
        Assert.True(finalD.Operation.Instructions[1].StartRuntime.Restart);
        Assert.True(finalD.Operation.Instructions[1].StartRuntime.SkipEtcdWait);
        await NothingAsync(w);
        await CompleteAsync(d);

        var finished = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Finished, finished.Phase);
        Assert.Null(finished.RecoveringFrom);
    }

    [Theory]
    [InlineData(Runtime.K3S, "192.168.1.10", "https://192.168.1.10:6443")]
    [InlineData(Runtime.Rke2, "192.168.1.10", "https://192.168.1.10:9345")]
    [InlineData(Runtime.Rke2, "fd00::a", "https://[fd00::a]:9345")]
    [InlineData(Runtime.K3S, "2001:db8::1", "https://[2001:db8::1]:6443")]
    public async Task Restore_OtherServerRejoins_DropInPointsAtTheInitNodesAddressAndTheRuntimesPort(Runtime runtime, string address, string expected)
    {
        var token = await CreateClusterAsync(runtime);
        var a = await RegisterAsync("node-a", token, address, NodeRole.Etcd);
        var b = await RegisterAsync("node-b", token, "10.9.9.9", NodeRole.Etcd);
        await ReportLocalSnapshotAsync(a, "on-demand-node-a-1700000000");
        await RestoreAsync(RestoreMode.None, "on-demand-node-a-1700000000");
        await CompleteAsync(a, "started/verify-snapshot");
        await CompleteAsync(a, "shutdown/killall");
        await CompleteAsync(b, "shutdown/killall");
        await CompleteAsync(a);
        await CompleteAsync(b);
        await CompleteAsync(a, "restart-cluster/start-runtime", "restart-cluster/wait-healthy");

        var join = await ExpectAsync(b, "restart-cluster/write-config-drop-in", "restart-cluster/start-runtime", "restart-cluster/wait-healthy");

        Assert.Equal(expected, join.Operation.Instructions[0].WriteConfigDropIn.Server);
    }

    [Fact]
    public async Task RestoreSnapshot_InitNodeReportedNoAdvertiseAddress_FailedPreconditionNamesTheNodeAndWhatToDo()
    {
        var token = await CreateClusterAsync(Runtime.K3S);
        var a = await RegisterAsync("node-a", token, "", NodeRole.Etcd);
        await RegisterAsync("node-b", token, "10.0.0.2", NodeRole.Etcd);
        await ReportLocalSnapshotAsync(a, "on-demand-node-a-1700000000");

        var ex = await Assert.ThrowsAsync<RpcException>(() => RestoreAsync(RestoreMode.None, "on-demand-node-a-1700000000")).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Contains("node 'node-a', the restore's init node, has reported no advertise address", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("advertise-address or node-ip", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Empty((await _operations.ListOperationsAsync(new ListOperationsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operations);
    }

    [Theory]
    [InlineData(RestoreMode.KubernetesVersion)]
    [InlineData(RestoreMode.All)]
    public async Task Restore_VersionModes_CheckInStarted_InstallInShutdown_AllWritesTheConfigurationBack(RestoreMode mode)
    {
        var (a, b, c, d, w) = await FiveNodesAsync(Runtime.K3S);
        await ReportLocalSnapshotAsync(b, version: Version, configuration: Configuration);
        var op = await RestoreAsync(mode);

        var started = await ExpectAsync(b, "started/verify-snapshot", "started/check-runtime-version");
        Assert.Equal(Version, started.Operation.Instructions[1].CheckRuntimeVersion.Version);
        foreach (var node in new[] { a, c, d, w })
        {
            Assert.Equal(Version, (await CompleteAsync(node, "started/check-runtime-version")).Operation.Instructions[0].CheckRuntimeVersion.Version);
        }
        await CompleteAsync(b);

        foreach (var node in new[] { a, b, c, d, w })
        {
            var shutdown = await CompleteAsync(node, "shutdown/killall", "shutdown/install-runtime-version");
            Assert.Equal(Version, shutdown.Operation.Instructions[1].InstallRuntimeVersion.Version);
        }

        var all = mode == RestoreMode.All;
        var init = await ExpectAsync(b, all
            ? ["restore/write-config-drop-in", "restore/write-runtime-config", "restore/restore-snapshot"]
            : ["restore/write-config-drop-in", "restore/restore-snapshot"]);
        await ExpectAsync(a, all
            ? ["restore/remove-etcd-data", "restore/remove-server-credentials", "restore/write-runtime-config"]
            : ["restore/remove-etcd-data", "restore/remove-server-credentials"]);
        var cp = await ExpectAsync(d, all ? ["restore/remove-server-credentials", "restore/write-runtime-config"] : ["restore/remove-server-credentials"]);
        await NothingAsync(w);
        if (all)
        {
            Assert.Equal(Configuration, init.Operation.Instructions[1].WriteRuntimeConfig.Configuration);
            Assert.Equal(Configuration, cp.Operation.Instructions[1].WriteRuntimeConfig.Configuration);
        }
        Assert.Equal(Version, (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout()).Cluster.KubernetesVersion);
        Assert.Equal(OperationPhase.Restore, (await GetAsync(op.Id)).Phase);
    }

    [Theory]
    [InlineData(RestoreMode.KubernetesVersion, "", "", "snapshot 'on-demand-node-b-1700000000' records no runtime version; restore with mode none")]
    [InlineData(RestoreMode.All, Version, "{\"cni\":\"calico\"}", "snapshot 'on-demand-node-b-1700000000' records no runtime configuration files (a nodeagent.runtime-config/v1 document); restore with mode kubernetesVersion or none")]
    [InlineData(RestoreMode.All, Version, "", "snapshot 'on-demand-node-b-1700000000' records no runtime configuration files (a nodeagent.runtime-config/v1 document); restore with mode kubernetesVersion or none")]
    public async Task RestoreSnapshot_ModeNeedsWhatTheSnapshotDoesNotRecord_FailedPreconditionSaysWhichModeToUse(RestoreMode mode, string version, string configuration, string expected)
    {
        var (_, b, _, _, _) = await FiveNodesAsync(Runtime.K3S);
        await ReportLocalSnapshotAsync(b, version: version, configuration: configuration);

        var ex = await Assert.ThrowsAsync<RpcException>(() => RestoreAsync(mode)).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal(expected, ex.Status.Detail);
        Assert.Empty((await _operations.ListOperationsAsync(new ListOperationsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operations);
    }

    [Fact]
    public async Task Restore_InstallFailsInShutdown_EveryNodeStartsAgain_RolledBackWhereAnInstallRan_ThenFailedWithTheOriginalFailure()
    {
        var (a, b, c, d, w) = await FiveNodesAsync(Runtime.K3S);
        await ReportLocalSnapshotAsync(b, version: Version);
        var op = await RestoreAsync(RestoreMode.KubernetesVersion);
        await CompleteAsync(b, "started/verify-snapshot", "started/check-runtime-version");
        foreach (var node in new[] { a, c, d, w })
        {
            await CompleteAsync(node, "started/check-runtime-version");
        }

        // a and w installed; c stopped and is on its install step; d has not reported its killall yet.
        await CompleteAsync(a, "shutdown/killall", "shutdown/install-runtime-version");
        await CompleteAsync(w, "shutdown/killall", "shutdown/install-runtime-version");
        await ReportAsync(c, await c.GetPlanAsync(), ("shutdown/killall", StepState.Succeeded, ""));
        await ReportAsync(b, await b.GetPlanAsync(), ("shutdown/killall", StepState.Succeeded, ""),
            ("shutdown/install-runtime-version", StepState.Failed, "k3s v1.29.2+k3s1: install command exited 1: version not found"));

        var recovering = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.RestartCluster, recovering.Phase);
        Assert.False(recovering.Cancellable);
        Assert.Equal("node-b", recovering.RecoveringFrom.Node);
        Assert.Equal("shutdown/install-runtime-version", recovering.RecoveringFrom.InstructionId);
        Assert.Equal(OperationPhase.Shutdown, recovering.RecoveringFrom.Phase);
        // Every node at once: the old cluster's members need each other for a quorum.
        var startA = await ExpectAsync(a, "restart-cluster/rollback-runtime-version", "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        Assert.Equal(Instruction.KindOneofCase.RollbackRuntimeVersion, startA.Operation.Instructions[0].KindCase);
        await ExpectAsync(b, "restart-cluster/rollback-runtime-version", "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        await ExpectAsync(c, "restart-cluster/rollback-runtime-version", "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        var startD = await ExpectAsync(d, "restart-cluster/start-runtime");
        Assert.True(startD.Operation.Instructions[0].StartRuntime.SkipEtcdWait);
        await ExpectAsync(w, "restart-cluster/rollback-runtime-version", "restart-cluster/start-runtime");
        foreach (var node in new[] { a, b, c, d, w })
        {
            await CompleteAsync(node);
        }

        var failed = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Failed, failed.Phase);
        Assert.Equal(OperationPhase.Shutdown, failed.Failure.Phase);
        Assert.Equal("node-b", failed.Failure.Node);
        Assert.Equal("shutdown/install-runtime-version", failed.Failure.InstructionId);
        Assert.Equal("k3s v1.29.2+k3s1: install command exited 1: version not found", failed.Failure.Message);
        Assert.Equal(failed.Failure, failed.RecoveringFrom);
        foreach (var node in new[] { a, b, c, d, w })
        {
            Assert.Null((await node.GetPlanAsync()).Operation);
        }
    }

    [Fact]
    public async Task Restore_KillallFailsAndAStartFailsInTheRecovery_FailedNamesBothFailures()
    {
        var (a, b, c, d, w) = await FiveNodesAsync(Runtime.K3S);
        await ReportLocalSnapshotAsync(b);
        var op = await RestoreAsync(RestoreMode.None);
        await CompleteAsync(b, "started/verify-snapshot");
        await ReportAsync(a, await a.GetPlanAsync(), ("shutdown/killall", StepState.Failed, "killall script /usr/local/bin/k3s-killall.sh exited 1"));

        var start = await ExpectAsync(c, "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        await ReportAsync(c, start, ("restart-cluster/start-runtime", StepState.Failed, "systemctl start k3s exited 1"));

        var failed = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Failed, failed.Phase);
        Assert.Equal(OperationPhase.RestartCluster, failed.Failure.Phase);
        Assert.Equal("node-c", failed.Failure.Node);
        Assert.Equal("restart-cluster/start-runtime", failed.Failure.InstructionId);
        Assert.Equal("systemctl start k3s exited 1; this was the recovery after Shutdown failed on node 'node-a' at 'shutdown/killall': killall script /usr/local/bin/k3s-killall.sh exited 1",
            failed.Failure.Message);
        Assert.Equal("node-a", failed.RecoveringFrom.Node);
        _ = (b, d, w);
    }

    [Fact]
    public async Task Restore_NodeNeverFinishesItsKillall_AtTheShutdownDeadlineEveryNodeStartsAgain_ThenFailedNamingIt()
    {
        var token = await CreateClusterAsync(Runtime.K3S);
        var a = await RegisterAsync("node-a", token, "10.0.0.1", NodeRole.Etcd);
        var b = await RegisterAsync("node-b", token, "10.0.0.2", NodeRole.Etcd);
        await ReportLocalSnapshotAsync(a, "on-demand-node-a-1700000000");
        var op = await RestoreAsync(RestoreMode.None, "on-demand-node-a-1700000000");
        await CompleteAsync(a, "started/verify-snapshot");
        await CompleteAsync(a, "shutdown/killall");

        _time.Advance(TimeSpan.FromMinutes(11));
        await OperationWaits.UntilAsync(async ct => (await _operations.GetOperationAsync(new GetOperationRequest { Id = op.Id }, cancellationToken: ct)).Operation.RecoveringFrom is not null);

        var recovering = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.RestartCluster, recovering.Phase);
        Assert.Equal("node-b", recovering.RecoveringFrom.Node);
        Assert.Contains("did not finish 'shutdown/killall' before the phase deadline", recovering.RecoveringFrom.Message, StringComparison.Ordinal);
        await CompleteAsync(a, "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        await CompleteAsync(b, "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        var failed = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Failed, failed.Phase);
        Assert.Equal(recovering.RecoveringFrom, failed.Failure);
    }

    [Fact]
    public async Task Restore_PlainEtcdStopFails_TheMembersStartAgain_ThenFailedWithTheStopFailure()
    {
        var token = await CreateClusterAsync(Runtime.Etcd);
        var a = await RegisterAsync("node-a", token, "", NodeRole.Etcd);
        var b = await RegisterAsync("node-b", token, "", NodeRole.Etcd);
        await ReportS3SnapshotAsync(a, "etcd-snapshot-node-a-1700000000", Sha, withoutSidecar: false, node: "node-a");
        var op = await RestoreAsync(RestoreMode.None, "etcd-snapshot-node-a-1700000000");
        await CompleteAsync(a, "started/download-snapshot", "started/verify-snapshot");
        await CompleteAsync(b, "started/download-snapshot", "started/verify-snapshot");
        await CompleteAsync(a, "shutdown/killall");
        await ReportAsync(b, await b.GetPlanAsync(), ("shutdown/killall", StepState.Failed, "etcd-stop-command exited 1"));

        await CompleteAsync(a, "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        await CompleteAsync(b, "restart-cluster/start-runtime", "restart-cluster/wait-healthy");

        var failed = await GetAsync(op.Id);
        Assert.Equal(OperationPhase.Failed, failed.Phase);
        Assert.Equal("etcd-stop-command exited 1", failed.Failure.Message);
        Assert.Equal("node-b", failed.RecoveringFrom.Node);
    }

    [Fact]
    public async Task Restore_SnapshotWithoutSidecar_TheFirstComputedSha256BecomesTheOperations_AndEveryLaterInstructionCarriesIt()
    {
        var (a, b, c, d, w) = await FiveNodesAsync(Runtime.K3S);
        await ReportS3SnapshotAsync(a, Snapshot, "", withoutSidecar: true, node: "node-b");
        var listed = Assert.Single((await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots);
        Assert.Equal("node-b", listed.Node);
        Assert.Equal("prod", listed.Cluster);
        Assert.True(listed.WithoutSidecar);

        var op = await RestoreAsync(RestoreMode.None);
        Assert.Equal("node-a", op.InitNode);
        var download = await ExpectAsync(a, "started/download-snapshot", "started/verify-snapshot");
        Assert.Equal("", download.Operation.Instructions[0].DownloadSnapshot.Sha256);
        await ReportAsync(a, download, ("started/download-snapshot", StepState.Succeeded, ""), Sha);

        var verify = await ExpectAsync(a, "started/download-snapshot", "started/verify-snapshot");
        Assert.Equal(Sha, verify.Operation.Instructions[1].VerifySnapshot.Sha256);
        await CompleteAsync(a);
        foreach (var node in new[] { a, b, c, d, w })
        {
            await CompleteAsync(node, "shutdown/killall");
        }
        var restore = await ExpectAsync(a, "restore/write-config-drop-in", "restore/restore-snapshot");
        Assert.Equal(Sha, restore.Operation.Instructions[1].RestoreSnapshot.Sha256);
        Assert.Equal(OperationPhase.Restore, (await GetAsync(op.Id)).Phase);
    }

    [Fact]
    public async Task Restore_PlainEtcdSnapshotWithoutSidecar_OtherMembersWaitForTheFirstSha256_ThenMustMatchIt()
    {
        var token = await CreateClusterAsync(Runtime.Etcd);
        var a = await RegisterAsync("node-a", token, "", NodeRole.Etcd);
        var b = await RegisterAsync("node-b", token, "", NodeRole.Etcd);
        await ReportS3SnapshotAsync(a, "etcd-snapshot-node-a-1700000000", "", withoutSidecar: true, node: "node-a");
        var op = await RestoreAsync(RestoreMode.None, "etcd-snapshot-node-a-1700000000");

        var first = await ExpectAsync(a, "started/download-snapshot", "started/verify-snapshot");
        await NothingAsync(b);
        Assert.Contains("sha256", (await GetAsync(op.Id)).Nodes.Single(n => n.Node == "node-b").Message, StringComparison.Ordinal);
        await ReportAsync(a, first, ("started/download-snapshot", StepState.Succeeded, ""), Sha);

        var second = await ExpectAsync(b, "started/download-snapshot", "started/verify-snapshot");
        Assert.Equal(Sha, second.Operation.Instructions[0].DownloadSnapshot.Sha256);
        Assert.Equal(Sha, second.Operation.Instructions[1].VerifySnapshot.Sha256);
    }

    [Fact]
    public async Task Restore_ServerRestartedInTheJoinPass_ResumesWithTheSameNodeAndGoesOnOneAtATime()
    {
        var token = await CreateClusterAsync(Runtime.K3S);
        var a = await RegisterAsync("node-a", token, "10.0.0.1", NodeRole.Etcd);
        var b = await RegisterAsync("node-b", token, "10.0.0.2", NodeRole.Etcd);
        var c = await RegisterAsync("node-c", token, "10.0.0.3", NodeRole.Etcd);
        await ReportLocalSnapshotAsync(a, "on-demand-node-a-1700000000");
        var op = await RestoreAsync(RestoreMode.None, "on-demand-node-a-1700000000");
        await CompleteAsync(a, "started/verify-snapshot");
        foreach (var node in new[] { a, b, c })
        {
            await CompleteAsync(node, "shutdown/killall");
        }
        foreach (var node in new[] { a, b, c })
        {
            await CompleteAsync(node);
        }
        await CompleteAsync(a, "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        var before = await ExpectAsync(b, "restart-cluster/write-config-drop-in", "restart-cluster/start-runtime", "restart-cluster/wait-healthy");

        await _server.RestartAsync().WithTimeout(TestTimeouts.Slow);
        (a, b, c) = (Reconnect(a), Reconnect(b), Reconnect(c));

        Assert.Equal(before.Checksum, (await b.GetPlanAsync()).Checksum);
        await NothingAsync(c);
        await CompleteAsync(b);
        var joinC = await ExpectAsync(c, "restart-cluster/write-config-drop-in", "restart-cluster/start-runtime", "restart-cluster/wait-healthy");
        Assert.Equal("https://10.0.0.1:6443", joinC.Operation.Instructions[0].WriteConfigDropIn.Server);
        await CompleteAsync(c);
        await CompleteAsync(a, "restart-cluster/final-remove-config-drop-in", "restart-cluster/final-restart-runtime", "restart-cluster/final-wait-healthy");
        await CompleteAsync(b, "restart-cluster/final-remove-config-drop-in", "restart-cluster/final-restart-runtime", "restart-cluster/final-wait-healthy");
        await CompleteAsync(c, "restart-cluster/final-remove-config-drop-in", "restart-cluster/final-restart-runtime", "restart-cluster/final-wait-healthy");
        Assert.Equal(OperationPhase.Finished, (await GetAsync(op.Id)).Phase);
    }

    private SimulatedAgent Reconnect(SimulatedAgent agent)
        => SimulatedAgent.Connect(_server.Address, _server.CaFile, "prod", agent.Node, agent.Credential);

    /// <summary>Cluster "prod": node-a (the original first server), node-b, node-c (etcd), node-d (control plane), node-w (worker).</summary>
    private async Task<(SimulatedAgent A, SimulatedAgent B, SimulatedAgent C, SimulatedAgent D, SimulatedAgent W)> FiveNodesAsync(Runtime runtime)
    {
        var token = await CreateClusterAsync(runtime);
        // Registered out of name order: the restart order is by role, then by name.
        var w = await RegisterAsync("node-w", token, "10.0.0.9", NodeRole.Worker);
        var a = await RegisterAsync("node-a", token, "10.0.0.1", NodeRole.Etcd, NodeRole.ControlPlane);
        var c = await RegisterAsync("node-c", token, "10.0.0.3", NodeRole.Etcd, NodeRole.ControlPlane);
        var d = await RegisterAsync("node-d", token, "10.0.0.4", NodeRole.ControlPlane);
        var b = await RegisterAsync("node-b", token, "10.0.0.2", NodeRole.Etcd, NodeRole.ControlPlane);
        return (a, b, c, d, w);
    }

    private async Task<string> CreateClusterAsync(Runtime runtime)
        => (await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod", Runtime = runtime, KubernetesVersion = "v1.30.4+k3s1",
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;

    private Task<SimulatedAgent> RegisterAsync(string node, string token, string address, params NodeRole[] roles)
        => SimulatedAgent.RegisterAsync(_server.Address, _server.CaFile, new RegisterRequest
        {
            Cluster = "prod", Node = node, BootstrapToken = token, Roles = { roles }, AdvertiseAddress = address,
        });

    private static async Task ReportLocalSnapshotAsync(SimulatedAgent agent, string name = Snapshot, string version = "v1.30.4+k3s1", string configuration = "")
    {
        var plan = await agent.GetPlanAsync();
        await agent.ReportAsync(new ReportStatusRequest
        {
            AppliedChecksum = plan.Checksum,
            Inventory = new SnapshotInventory
            {
                Snapshots =
                {
                    new Snapshot
                    {
                        Name = name, Storage = StorageKind.Local, Location = "file:///var/lib/rancher/k3s/server/db/snapshots/" + name, Size = 4096,
                        Sha256 = Sha, Status = SnapshotStatus.Successful, CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)),
                        KubernetesVersion = version, ClusterConfiguration = configuration,
                    },
                },
            },
        });
    }

    private static async Task ReportS3SnapshotAsync(SimulatedAgent agent, string name, string sha256, bool withoutSidecar, string node)
    {
        var plan = await agent.GetPlanAsync();
        await agent.ReportAsync(new ReportStatusRequest
        {
            AppliedChecksum = plan.Checksum,
            Inventory = new SnapshotInventory
            {
                S3Listed = true,
                Snapshots =
                {
                    new Snapshot
                    {
                        Name = name, Node = node, Storage = StorageKind.S3, Location = "s3://backups/" + name, Size = 4096, Sha256 = sha256,
                        Status = SnapshotStatus.Successful, CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)),
                        WithoutSidecar = withoutSidecar,
                    },
                },
            },
        });
    }

    private async Task<Operation> RestoreAsync(RestoreMode mode, string snapshot = Snapshot)
        => (await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = snapshot, RestoreMode = mode, SafetySnapshot = false,
        }).ResponseAsync.DefaultTimeout()).Operation;

    private async Task<Operation> GetAsync(string id)
        => (await _operations.GetOperationAsync(new GetOperationRequest { Id = id }).ResponseAsync.DefaultTimeout()).Operation;

    /// <summary>The node's current operation instructions are exactly <paramref name="ids"/>, in order.</summary>
    private static async Task<Plan> ExpectAsync(SimulatedAgent agent, params string[] ids)
    {
        var plan = await agent.GetPlanAsync();
        Assert.True(plan.Operation is not null, $"{agent.Node} has no operation instructions; expected {string.Join(", ", ids)}");
        Assert.Equal(ids, plan.Operation.Instructions.Select(i => i.Id));
        return plan;
    }

    private static async Task NothingAsync(params SimulatedAgent[] agents)
    {
        foreach (var agent in agents)
        {
            var operation = (await agent.GetPlanAsync()).Operation;
            Assert.True(operation is null, $"{agent.Node} should have nothing to do now, has {string.Join(", ", operation?.Instructions.Select(i => i.Id) ?? [])}");
        }
    }

    /// <summary>Checks the node's instructions (when <paramref name="ids"/> are given) and reports each succeeded.</summary>
    private static async Task<Plan> CompleteAsync(SimulatedAgent agent, params string[] ids)
    {
        var plan = ids.Length > 0 ? await ExpectAsync(agent, ids) : await agent.GetPlanAsync();
        Assert.True(plan.Operation is not null, $"{agent.Node} has no operation instructions to complete");
        await ReportAsync(agent, plan, plan.Operation.Instructions.Select(i => (i.Id, StepState.Succeeded, "")).ToArray());
        return plan;
    }

    private static Task ReportAsync(SimulatedAgent agent, Plan plan, params (string Id, StepState State, string Message)[] results)
        => ReportAsync(agent, plan, results, "");

    private static Task ReportAsync(SimulatedAgent agent, Plan plan, (string Id, StepState State, string Message) result, string snapshotSha256)
        => ReportAsync(agent, plan, [result], snapshotSha256);

    private static async Task ReportAsync(SimulatedAgent agent, Plan plan, (string Id, StepState State, string Message)[] results, string snapshotSha256)
    {
        var request = new ReportStatusRequest();
        request.Steps.AddRange(results.Select(r => new StepResult
        {
            OperationId = plan.Operation.OperationId, InstructionId = r.Id, State = r.State, Attempt = 1, Message = r.Message, SnapshotSha256 = snapshotSha256,
        }));
        await agent.ReportAsync(request);
    }
}
