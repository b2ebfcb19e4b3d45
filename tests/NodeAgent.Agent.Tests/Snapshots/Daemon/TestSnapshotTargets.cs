using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Tests.Snapshots.Daemon;

/// <summary>The set-up the daemon's snapshot-target tests share: node n1 of cluster c1, its targets, and a plan that only sets them.</summary>
internal static class TestSnapshotTargets
{
    public static AgentIdentity Identity { get; } = new("c1", "n1", "test");

    /// <summary>The agent's options for node n1 (its plan server is never called) with its data in <paramref name="dataDir"/>.</summary>
    public static AgentOptions Options(string dataDir, Contracts.V1.Runtime runtime)
        => new() { Servers = [new Uri("https://127.0.0.1:9")], Cluster = "c1", NodeName = "n1", Runtime = runtime, DataDir = dataDir };

    public static SnapshotTargets Create(AgentOptions options, TimeProvider time) => new(options, Identity, time, NullLoggerFactory.Instance);

    /// <summary>A steady state with snapshots in <paramref name="dir"/>, none recurring, uploaded to <paramref name="s3"/>.</summary>
    public static SteadyStatePlan Plan(Contracts.V1.Runtime runtime, string dir, Contracts.V1.S3Settings s3)
        => new() { Runtime = runtime, SnapshotSettings = new SnapshotSettings { Dir = dir, RecurringEnabled = false, S3 = s3 } };
}
