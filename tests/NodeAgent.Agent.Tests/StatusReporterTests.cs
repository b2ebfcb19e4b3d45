using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Agent.Tests;

/// <summary>The agent's status reporter against the real plan server (in-process Kestrel, real gRPC, its 4 MB message limit).</summary>
public sealed class StatusReporterTests : IAsyncLifetime, IDisposable
{
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;
    private AgentService.AgentServiceClient _agent = null!;
    private MeasuredClient _client = null!;
    private readonly TempDir _root = new();

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
        var token = (await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod", Runtime = Contracts.V1.Runtime.Etcd, KubernetesVersion = "v1.30.4+k3s1",
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        var registered = await new AgentService.AgentServiceClient(_server.CreateChannel()).RegisterAsync(new RegisterRequest
        {
            Cluster = "prod", Node = "node-1", BootstrapToken = token, Roles = { NodeRole.Etcd },
        }).ResponseAsync.DefaultTimeout();
        _agent = new AgentService.AgentServiceClient(_server.CreateChannel(registered.NodeCredential));
        _client = new MeasuredClient(_agent);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task ReportStatus_K3sNode_FullReportsCarryTheRuntimeFactsAndSmallOnesDoNot()
    {
        using var reporter = new StatusReporter(_client, new AgentIdentity("prod", "node-1", "test"), NullLogger<StatusReporter>.Instance, RuntimeFacts());

        await reporter.ChecksumsAsync("", CancellationToken.None).DefaultTimeout();
        await reporter.InventoryAsync(Inventory(1, _ => ""), CancellationToken.None).DefaultTimeout();

        var reports = _client.Reports;
        Assert.Equal(2, reports.Length);
        Assert.Null(reports[0].RuntimeFacts);
        Assert.Equal(new Contracts.V1.RuntimeFacts { AdvertiseAddress = "10.1.2.3", RuntimeVersion = "", RuntimeSnapshotsEnabled = true }, reports[1].RuntimeFacts);
    }

    [Fact]
    public async Task Register_K3sNode_SendsTheAddressTheRuntimeAdvertises()
    {
        var token = (await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "edge", Runtime = Contracts.V1.Runtime.K3S, KubernetesVersion = "v1.30.4+k3s1",
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
        var options = new Config.AgentOptions { Runtime = Contracts.V1.Runtime.K3S, Token = token, StateDir = _root.Combine("state") };
        var registration = new Registration(_client, new CredentialStore(options.StateDir), options, new AgentIdentity("edge", "node-2", "test"),
            RuntimeFacts(), NullLogger<Registration>.Instance);

        await registration.EnsureAsync(Polly.ResiliencePipeline.Empty, forceNew: false, CancellationToken.None).DefaultTimeout();

        Assert.Equal("10.1.2.3", _client.Registered?.AdvertiseAddress);
    }

    /// <summary>A k3s node whose config names its advertise address; the runtime binary is not installed.</summary>
    private Agent.Runtime.RuntimeFactsReader RuntimeFacts()
    {
        var config = _root.Combine("etc", "rancher", "k3s", "config.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        File.WriteAllText(config, "advertise-address: 10.1.2.3\nnode-ip: 10.9.9.9\n");
        var options = new Config.AgentOptions { Runtime = Contracts.V1.Runtime.K3S, RuntimeConfig = config, RuntimeBinary = _root.Combine("bin", "k3s") };
        return new Agent.Runtime.RuntimeFactsReader(options,
            new Agent.Runtime.RuntimeVersion(new Agent.Runtime.ProcessRunner(TimeProvider.System, NullLogger<Agent.Runtime.ProcessRunner>.Instance)),
            NullLogger<Agent.Runtime.RuntimeFactsReader>.Instance);
    }

    [Fact]
    public async Task ReportStatus_FourSnapshotsWith700KbConfiguration_OperationFinishesWithBoundedReportsAndTheTextKept()
    {
        var configuration = Configuration('a', 700 * 1024);
        using var reporter = new StatusReporter(_client, new AgentIdentity("prod", "node-1", "test"), NullLogger<StatusReporter>.Instance);
        var (op, plan) = await StartSnapshotAsync();
        await reporter.ChecksumsAsync("", CancellationToken.None).DefaultTimeout();

        // Four snapshots, each a local and an S3 copy, each recording the whole configuration.
        await reporter.InventoryAsync(Inventory(4, _ => configuration), CancellationToken.None).DefaultTimeout();
        await reporter.StepAsync(Succeeded(plan, stdout: new string('o', 100_000)), CancellationToken.None).DefaultTimeout();
        var steady = await GetPlanAsync(plan.Checksum);
        await reporter.ChecksumsAsync(steady.Checksum, CancellationToken.None).DefaultTimeout();

        var ended = await GetAsync(op.Id);
        Assert.True(ended.Phase == OperationPhase.Finished, $"operation is {ended.Phase}: {ended.Failure}");
        Assert.All(_client.Sizes, size => Assert.InRange(size, 0, 1024 * 1024 + 64 * 1024));
        var catalog = (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots;
        Assert.Equal(8, catalog.Count);
        Assert.All(catalog, s => Assert.Equal(Sha256(configuration), s.ClusterConfigurationSha256));
        // Restore mode ALL needs the text: the server has it.
        var restore = await _snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
        {
            Cluster = "prod", Snapshot = catalog[0].Name, RestoreMode = RestoreMode.All, SafetySnapshot = false,
        }).ResponseAsync.DefaultTimeout();
        Assert.Equal(OperationPhase.Started, restore.Operation.Phase);
    }

    [Fact]
    public async Task ReportStatus_ManyDistinctConfigurations_SplitAcrossBoundedReports()
    {
        using var reporter = new StatusReporter(_client, new AgentIdentity("prod", "node-1", "test"), NullLogger<StatusReporter>.Instance);

        await reporter.InventoryAsync(Inventory(6, i => Configuration((char)('a' + i), 700 * 1024)), CancellationToken.None).DefaultTimeout();

        Assert.True(_client.Sizes.Length >= 6, $"{_client.Sizes.Length} reports");
        Assert.All(_client.Sizes, size => Assert.InRange(size, 0, 1024 * 1024 + 64 * 1024));
        var node = await NodeAsync();
        Assert.Equal("", node.LastReportError);
        Assert.Equal(12, (await _snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Snapshots.Count);
    }

    [Fact]
    public async Task ReportStatus_ReportRefused_StepStillGetsThroughAndListNodesShowsWhy()
    {
        using var reporter = new StatusReporter(_client, new AgentIdentity("prod", "node-1", "test"), NullLogger<StatusReporter>.Instance);
        var (op, plan) = await StartSnapshotAsync();
        await reporter.ChecksumsAsync("", CancellationToken.None).DefaultTimeout();

        // One configuration larger than the server takes in any message.
        await reporter.InventoryAsync(Inventory(1, _ => Configuration('z', 5 * 1024 * 1024)), CancellationToken.None).DefaultTimeout();
        await reporter.StepAsync(Succeeded(plan), CancellationToken.None).DefaultTimeout();

        Assert.StartsWith("ResourceExhausted: ", (await NodeAsync()).LastReportError, StringComparison.Ordinal);
        Assert.Equal(OperationPhase.RestartCluster, (await GetAsync(op.Id)).Phase);

        await reporter.InventoryAsync(Inventory(1, _ => ""), CancellationToken.None).DefaultTimeout();

        Assert.Equal("", (await NodeAsync()).LastReportError);
    }

    /// <summary>
    /// A step ends while its progress report is on the wire: the report is cancelled (gRPC says
    /// so with its own Cancelled status) and the step's outcome still reaches the server, once,
    /// instead of the cancelled report failing the attempt (which ran it again, or for a
    /// destructive step failed the operation as "interrupted by an agent restart").
    /// </summary>
    [Fact]
    public async Task StepAsync_ProgressReportCancelledWhenTheStepEnds_TheOutcomeIsReportedAndTheOperationFinishes()
    {
        var client = new ProgressHoldingClient(_client);
        using var reporter = new StatusReporter(client, new AgentIdentity("prod", "node-1", "test"), NullLogger<StatusReporter>.Instance);
        var (op, plan) = await StartSnapshotAsync();
        await reporter.ChecksumsAsync("", CancellationToken.None).DefaultTimeout();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var executor = new ProgressThenSuccess(client.ProgressOnTheWire.Task);
        var runner = new StepRunner([executor], new StepMarkers(_root.Combine("state")), new StepRetrySettings(TimeSpan.Zero), new AgentMetrics(), time, NullLogger<StepRunner>.Instance);

        var run = runner.RunAsync(plan, reporter.StepAsync, CancellationToken.None);
        await executor.ProgressReported.Task.DefaultTimeout();
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(await run.DefaultTimeout());
        Assert.Equal(1, executor.Calls);
        var steady = await GetPlanAsync(plan.Checksum);
        await reporter.ChecksumsAsync(steady.Checksum, CancellationToken.None).DefaultTimeout();
        var ended = await GetAsync(op.Id);
        Assert.True(ended.Phase == OperationPhase.Finished, $"operation is {ended.Phase}: {ended.Failure}");
    }

    private async Task<(Operation Operation, Plan Plan)> StartSnapshotAsync()
    {
        var op = (await _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation;
        return (op, await GetPlanAsync(""));
    }

    private async Task<Plan> GetPlanAsync(string known)
        => (await _agent.GetPlanAsync(new GetPlanRequest
        {
            Cluster = "prod", Node = "node-1", KnownChecksum = known, Wait = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
        }).ResponseAsync.DefaultTimeout()).Plan;

    private async Task<Operation> GetAsync(string id)
        => (await _operations.GetOperationAsync(new GetOperationRequest { Id = id }).ResponseAsync.DefaultTimeout()).Operation;

    private async Task<Node> NodeAsync()
        => (await _clusters.ListNodesAsync(new ListNodesRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Nodes.Single();

    private static StepResult Succeeded(Plan plan, string stdout = "") => new()
    {
        OperationId = plan.Operation.OperationId,
        InstructionId = plan.Operation.Instructions.Single().Id,
        State = StepState.Succeeded,
        Attempt = 1,
        StdoutTail = stdout,
    };

    private static SnapshotInventory Inventory(int count, Func<int, string> configuration)
    {
        var inventory = new SnapshotInventory { TakenAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow), S3Listed = true };
        for (var i = 0; i < count; i++)
        {
            var name = $"etcd-snapshot-node-1-{1_700_000_000 + i}";
            foreach (var (storage, location) in new[] { (StorageKind.Local, "file:///var/lib/rancher/k3s/server/db/snapshots/" + name), (StorageKind.S3, "s3://backups/prod/" + name) })
            {
                inventory.Snapshots.Add(new Snapshot
                {
                    Name = name, Node = "node-1", Storage = storage, Location = location, Size = 4096, Sha256 = new string('b', 64),
                    Status = SnapshotStatus.Successful, CreatedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000 + i)),
                    KubernetesVersion = "v1.30.4+k3s1", ClusterConfiguration = configuration(i),
                });
            }
        }
        return inventory;
    }

    private static string Configuration(char fill, int size) => "{\"data\":\"" + new string(fill, size) + "\"}";

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>A save that reports progress, waits until that progress report is on the wire, then succeeds.</summary>
    private sealed class ProgressThenSuccess(Task progressOnTheWire) : IInstructionExecutor
    {
        public TaskCompletionSource ProgressReported { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls { get; private set; }

        public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.SaveSnapshot;

        public bool SafeToRerun => true;

        public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        {
            Calls++;
            context.ReportProgress(20_000, 20_000, 0);
            ProgressReported.SetResult();
            await progressOnTheWire.WaitAsync(TestTimeouts.Default, cancellationToken);
            return StepOutcome.Success("saved");
        }
    }

    /// <summary>
    /// The real client, except that a progress report stays on the wire until its caller cancels
    /// it (a slow server); then it goes to the real gRPC call with that token, which ends it the
    /// way gRPC ends a cancelled call.
    /// </summary>
    private sealed class ProgressHoldingClient(IPlanServerClient client) : IPlanServerClient
    {
        public TaskCompletionSource ProgressOnTheWire { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken)
            => client.RegisterAsync(request, cancellationToken);

        public Task<GetPlanResponse> GetPlanAsync(GetPlanRequest request, TimeSpan deadline, CancellationToken cancellationToken)
            => client.GetPlanAsync(request, deadline, cancellationToken);

        public async Task<ReportStatusResponse> ReportStatusAsync(ReportStatusRequest request, CancellationToken cancellationToken)
        {
            if (request.Steps.Any(s => s.State == StepState.Running && s.Progress is not null))
            {
                ProgressOnTheWire.TrySetResult();
                await Task.WhenAny(Task.Delay(TestTimeouts.Default, cancellationToken));
            }
            return await client.ReportStatusAsync(request, cancellationToken);
        }

        public void UseCredential(string credential) => client.UseCredential(credential);
    }

    /// <summary>The agent API over real gRPC, noting the size of every report sent.</summary>
    private sealed class MeasuredClient(AgentService.AgentServiceClient client) : IPlanServerClient
    {
        private readonly ConcurrentQueue<int> _sizes = new();
        private readonly ConcurrentQueue<ReportStatusRequest> _reports = new();

        public int[] Sizes => [.. _sizes];

        public ReportStatusRequest[] Reports => [.. _reports];

        public RegisterRequest? Registered { get; private set; }

        public async Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken)
        {
            Registered = request.Clone();
            return await client.RegisterAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
        }

        public async Task<GetPlanResponse> GetPlanAsync(GetPlanRequest request, TimeSpan deadline, CancellationToken cancellationToken)
            => await client.GetPlanAsync(request, deadline: DateTime.UtcNow + deadline, cancellationToken: cancellationToken);

        public async Task<ReportStatusResponse> ReportStatusAsync(ReportStatusRequest request, CancellationToken cancellationToken)
        {
            _sizes.Enqueue(request.CalculateSize());
            _reports.Enqueue(request.Clone());
            return await client.ReportStatusAsync(request, deadline: Deadline(), cancellationToken: cancellationToken);
        }

        public void UseCredential(string credential)
        {
        }

        private static DateTime Deadline() => DateTime.UtcNow + TestTimeouts.Default;
    }
}
