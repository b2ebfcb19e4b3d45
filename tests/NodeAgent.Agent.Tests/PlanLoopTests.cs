using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Agent.Tests;

/// <summary>
/// The plan loop itself against the real plan server (in-process Kestrel, real gRPC, TLS): it gets
/// its plan, runs the operation's steps with the step runner and reports them, and on a stop of the
/// agent lets the step in hand end and be reported before it returns. The save step is an executor
/// of ours driven by the test (the snapshot engine has its own tests). The agent's "restart" is a
/// second loop on the same state dir.
/// </summary>
public sealed class PlanLoopTests : IAsyncLifetime, IDisposable
{
    private readonly TempDir _root = new();
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;
    private SnapshotService.SnapshotServiceClient _snapshots = null!;
    private OperationService.OperationServiceClient _operations = null!;
    private string _token = "";

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        var admin = _server.CreateAdminChannel();
        _clusters = new ClusterService.ClusterServiceClient(admin);
        _snapshots = new SnapshotService.SnapshotServiceClient(admin);
        _operations = new OperationService.OperationServiceClient(admin);
        _token = (await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "prod", Runtime = Contracts.V1.Runtime.Etcd, KubernetesVersion = "v1.30.4+k3s1",
            SnapshotSettings = new SnapshotSettings { RecurringEnabled = false },
        }).ResponseAsync.DefaultTimeout()).BootstrapToken;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task RunAsync_SnapshotOperation_RunsItsStepReportsItAndTheOperationFinishes()
    {
        var save = new GatedSave();
        save.Release.SetResult(StepOutcome.Success("saved on-demand-node-1"));
        using var stopping = new CancellationTokenSource();
        var (loop, reporter) = Loop(save);
        using (reporter)
        {
            var run = loop.RunAsync(stopping.Token, CancellationToken.None);
            await loop.Answered.WithTimeout(TestTimeouts.Slow);

            var ended = await _operations.WaitForEndAsync(await StartSnapshotAsync());

            Assert.True(ended.Phase == OperationPhase.Finished, $"ended {ended.Phase}: {ended.Failure}");
            Assert.Equal(1, save.Calls);
            await stopping.CancelAsync();
            await StoppedAsync(run);
        }
    }

    [Fact]
    public async Task RunAsync_StoppedWhileAStepRuns_TheStepEndsIsReportedAndTheLoopReturns()
    {
        var save = new GatedSave();
        string op;
        using var stopping = new CancellationTokenSource();
        var (loop, reporter) = Loop(save);
        using (reporter)
        {
            var run = loop.RunAsync(stopping.Token, CancellationToken.None);
            await loop.Answered.WithTimeout(TestTimeouts.Slow);
            op = await StartSnapshotAsync();
            await save.Started.Task.WithTimeout(TestTimeouts.Slow);

            await stopping.CancelAsync();
            Assert.False(run.IsCompleted);
            save.Release.SetResult(StepOutcome.Success("saved on-demand-node-1"));
            await StoppedAsync(run);

            Assert.False(save.Cancelled);
        }
        // The agent is back on the same state dir: the step it reported is not run again, and the operation goes on.
        using var stoppingAgain = new CancellationTokenSource();
        var (again, reporterAgain) = Loop(save);
        using (reporterAgain)
        {
            var run = again.RunAsync(stoppingAgain.Token, CancellationToken.None);

            var ended = await _operations.WaitForEndAsync(op);

            Assert.True(ended.Phase == OperationPhase.Finished, $"ended {ended.Phase}: {ended.Failure}");
            Assert.Equal(1, save.Calls);
            await stoppingAgain.CancelAsync();
            await StoppedAsync(run);
        }
    }

    /// <summary>
    /// The step's markers cannot be written, and the operation is aborted (here: the agent's stop ran out
    /// of time; a newer plan does the same) while the step's FAILED report is on the wire. The loop ends
    /// as a stop, not with the markers' IOException: that error, rethrown after the report, met an aborted
    /// operation, no catch took it, and it ended the plan loop (with a newer plan, the agent exited and the
    /// next operation's step stayed PENDING).
    /// </summary>
    [Fact]
    public async Task RunAsync_OperationAbortedWhileItsMarkersFailureIsReported_TheLoopEndsAsAStop()
    {
        var markers = _root.Combine("state", "steps");
        Directory.CreateDirectory(Path.GetDirectoryName(markers)!);
        File.WriteAllText(markers, "not a directory");
        using var stopping = new CancellationTokenSource();
        using var abort = new CancellationTokenSource();
        FailureAnswerHeldUntilAborted? held = null;
        var (loop, reporter) = Loop(new GatedSave(), client => held = new FailureAnswerHeldUntilAborted(client));
        using (reporter)
        {
            var run = loop.RunAsync(stopping.Token, abort.Token);
            await loop.Answered.WithTimeout(TestTimeouts.Slow);
            await StartSnapshotAsync();
            await held!.Holding.Task.WithTimeout(TestTimeouts.Slow);

            await stopping.CancelAsync();
            await abort.CancelAsync();

            await StoppedAsync(run);
        }
    }

    private (PlanLoop Loop, StatusReporter Reporter) Loop(IInstructionExecutor executor, Func<IPlanServerClient, IPlanServerClient>? wrap = null)
    {
        var options = new AgentOptions
        {
            Servers = [_server.Address], ServerCa = _server.CaFile!, Token = _token, Cluster = "prod", NodeName = "node-1",
            Runtime = Contracts.V1.Runtime.Etcd, StateDir = _root.Combine("state"), PollWait = TimeSpan.FromSeconds(5),
        };
        var identity = new AgentIdentity("prod", "node-1", "test");
        IPlanServerClient client = new GrpcPlanServerClient(options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<GrpcPlanServerClient>.Instance);
        client = wrap?.Invoke(client) ?? client;
        var facts = new RuntimeFactsReader(options, new RuntimeVersion(new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance)),
            NullLogger<RuntimeFactsReader>.Instance);
        var registration = new Registration(client, new CredentialStore(options.StateDir), options, identity, facts, NullLogger<Registration>.Instance);
        var runner = new StepRunner([executor], new StepMarkers(options.StateDir), new StepRetrySettings(TimeSpan.Zero), new AgentMetrics(),
            TimeProvider.System, NullLogger<StepRunner>.Instance);
        var reporter = new StatusReporter(client, identity, NullLogger<StatusReporter>.Instance);
        return (new PlanLoop(client, registration, runner, reporter, [], identity, options, TimeProvider.System, NullLogger<PlanLoop>.Instance), reporter);
    }

    private async Task<string> StartSnapshotAsync()
        => (await _snapshots.CreateSnapshotAsync(new CreateSnapshotRequest { Cluster = "prod" }).ResponseAsync.DefaultTimeout()).Operation.Id;

    /// <summary>Waits for the loop to return after a stop; the long-poll cut short ends it as the host sees it end (cancelled).</summary>
    private static async Task StoppedAsync(Task run)
    {
        try
        {
            await run.WithTimeout(TestTimeouts.Slow);
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
        }
    }

    /// <summary>
    /// The real client, except that the answer to the first report with a FAILED step (delivered: the
    /// server has it) comes back only once the report's caller is cancelled.
    /// </summary>
    private sealed class FailureAnswerHeldUntilAborted(IPlanServerClient inner) : IPlanServerClient
    {
        private int _held;

        public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<RegisterResponse> RegisterAsync(RegisterRequest request, CancellationToken cancellationToken)
            => inner.RegisterAsync(request, cancellationToken);

        public Task<GetPlanResponse> GetPlanAsync(GetPlanRequest request, TimeSpan deadline, CancellationToken cancellationToken)
            => inner.GetPlanAsync(request, deadline, cancellationToken);

        public async Task<ReportStatusResponse> ReportStatusAsync(ReportStatusRequest request, CancellationToken cancellationToken)
        {
            var answer = await inner.ReportStatusAsync(request, cancellationToken);
            if (request.Steps.Any(s => s.State == StepState.Failed) && Interlocked.Exchange(ref _held, 1) == 0)
            {
                Holding.SetResult();
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken).WaitAsync(TestTimeouts.Slow, CancellationToken.None);
                }
                catch (OperationCanceledException)
                {
                    // Aborted: now the answer comes back.
                }
            }
            return answer;
        }

        public void UseCredential(string credential) => inner.UseCredential(credential);
    }

    /// <summary>A save that ends when the test says how (or when cancelled).</summary>
    private sealed class GatedSave : IInstructionExecutor
    {
        private int _calls;

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<StepOutcome> Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Calls => Volatile.Read(ref _calls);

        public bool Cancelled { get; private set; }

        public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.SaveSnapshot;

        public bool SafeToRerun => true;

        public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            Started.TrySetResult();
            try
            {
                return await Release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }
        }
    }
}
