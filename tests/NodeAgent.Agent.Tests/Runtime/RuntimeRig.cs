using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Hosting;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// One node's restore side, wired exactly as the daemon wires it (<c>AddAgentDaemon</c>, so
/// <c>AddRuntime</c> is covered too) but not started: tests call the executors directly, each under
/// a deadline like the step runner's.
/// </summary>
internal sealed class RuntimeRig : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly Dictionary<Instruction.KindOneofCase, IInstructionExecutor> _executors;

    private readonly Plan _plan;

    private RuntimeRig(ServiceProvider services, Plan plan)
    {
        _services = services;
        _plan = plan;
        _executors = services.GetServices<IInstructionExecutor>().ToDictionary(e => e.Kind);
    }

    public IRuntimeDriver Driver => _services.GetRequiredService<IRuntimeDriver>();

    public SnapshotTargets Targets => _services.GetRequiredService<SnapshotTargets>();

    public IInstructionExecutor Executor(Instruction.KindOneofCase kind) => _executors[kind];

    /// <summary>
    /// A node's options for a rig: node n1 (unless named) of cluster c1 and, unless given, an etcd
    /// endpoint nobody listens on (a probe gets a refusal at once).
    /// </summary>
    public static AgentOptions Options(string runtime, string dataDir, string stateDir, string? etcdEndpoint = null, string nodeName = "n1") => new()
    {
        Servers = [new Uri("https://127.0.0.1:9")],
        Cluster = "c1",
        NodeName = nodeName,
        Runtime = RuntimeNames.Parse(runtime),
        DataDir = dataDir,
        StateDir = stateDir,
        EtcdEndpoints = [etcdEndpoint ?? $"http://127.0.0.1:{FreePorts.Next()}"],
    };

    /// <param name="snapshotDir">The plan's snapshot dir (the steady state is applied as the plan server would send it).</param>
    /// <param name="s3">The plan's S3 target, if any.</param>
    /// <param name="logs">Gets every log line (Debug and up) when given.</param>
    /// <param name="operationId">The operation the instructions come with (none when null).</param>
    public static async Task<RuntimeRig> CreateAsync(AgentOptions options, string snapshotDir, TimeProvider? time = null, S3Settings? s3 = null,
        ILoggerProvider? logs = null, string? operationId = null)
    {
        var services = new ServiceCollection();
        services.AddLogging(b =>
        {
            b.SetMinimumLevel(logs is null ? LogLevel.Warning : LogLevel.Debug);
            if (logs is not null)
            {
                b.AddProvider(logs);
            }
        });
        services.AddAgentDaemon(options, new WatchdogSettings(null));
        if (time is not null)
        {
            services.AddSingleton(time);
        }
        var provider = services.BuildServiceProvider();
        var runtime = options.Runtime;
        await provider.GetRequiredService<SnapshotTargets>().ApplyAsync(
            new SteadyStatePlan { Runtime = runtime, SnapshotSettings = new SnapshotSettings { Dir = snapshotDir, RecurringEnabled = false, S3 = s3 } },
            CancellationToken.None);
        return new RuntimeRig(provider, operationId is null ? new Plan() : new Plan { Operation = new OperationPlan { OperationId = operationId } });
    }

    /// <summary>Runs one instruction under <paramref name="deadline"/> (default: the slow test bound).</summary>
    public async Task<StepOutcome> RunAsync(Instruction instruction, TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? TestTimeouts.Slow);
        return await _executors[instruction.KindCase]
            .ExecuteAsync(instruction, new StepContext(_plan, _ => { }), timeout.Token)
            .WithTimeout(TestTimeouts.Slow + TimeSpan.FromSeconds(30));
    }

    public static Instruction Killall() => new() { Id = "killall", RunKillall = new RunKillallInstruction() };

    public static Instruction Start() => new() { Id = "start", StartRuntime = new StartRuntimeInstruction() };

    public static Instruction RemoveEtcdData(bool tombstone) => new() { Id = "remove", RemoveEtcdData = new RemoveEtcdDataInstruction { Tombstone = tombstone } };

    public static Instruction Restore(string snapshot, string sha256 = "", string initialCluster = "")
        => new() { Id = "restore", RestoreSnapshot = new RestoreSnapshotInstruction { Snapshot = snapshot, Sha256 = sha256, InitialCluster = initialCluster } };

    public static Instruction Verify(string snapshot, string sha256 = "")
        => new() { Id = "verify", VerifySnapshot = new VerifySnapshotInstruction { Snapshot = snapshot, Sha256 = sha256 } };

    public static Instruction Download(string snapshot, string sha256 = "")
        => new() { Id = "download", DownloadSnapshot = new DownloadSnapshotInstruction { Snapshot = snapshot, Sha256 = sha256 } };

    public static Instruction Save() => new() { Id = "save", SaveSnapshot = new SaveSnapshotInstruction { Name = "on-demand" } };

    public static Instruction WaitHealthy() => new() { Id = "wait", WaitHealthy = new WaitHealthyInstruction() };

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();
}

/// <summary>Assertions on a step's outcome that show its message when they fail.</summary>
internal static class AssertStep
{
    public static void Succeeded(StepOutcome outcome) => Assert.True(outcome.Succeeded, outcome.Message);
}
