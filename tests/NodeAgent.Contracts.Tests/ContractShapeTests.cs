using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Contracts.Tests;

public sealed class ContractShapeTests
{
    [Fact]
    public void Plan_RoundTrip_KeepsSteadyStateAndOperationApart()
    {
        var plan = new Plan
        {
            Cluster = "prod",
            Node = "node-1",
            SteadyState = new SteadyStatePlan
            {
                Runtime = Runtime.K3S,
                SnapshotSettings = new SnapshotSettings { RecurringEnabled = true, Cron = "0 */5 * * *", Retention = 5 },
            },
            Operation = new OperationPlan
            {
                OperationId = "op-1",
                Type = OperationType.Snapshot,
                Phase = OperationPhase.Started,
                Instructions =
                {
                    new Instruction
                    {
                        Id = "started/save-snapshot",
                        Timeout = Duration.FromTimeSpan(TimeSpan.FromMinutes(10)),
                        MaxAttempts = 2,
                        SaveSnapshot = new SaveSnapshotInstruction { Name = "on-demand", Upload = true },
                    },
                },
            },
        };

        var copy = Plan.Parser.ParseFrom(plan.ToByteArray());

        Assert.Equal(plan, copy);
        Assert.Equal(Instruction.KindOneofCase.SaveSnapshot, copy.Operation.Instructions[0].KindCase);
        Assert.Equal("0 */5 * * *", copy.SteadyState.SnapshotSettings.Cron);
    }

    [Fact]
    public void RunKillallInstruction_Script_IsReservedNotSent()
    {
        // The server never named a script: the agent runs its runtime's killall-script from its own config.
        Assert.Empty(RunKillallInstruction.Descriptor.Fields.InDeclarationOrder());
    }

    [Fact]
    public void Plan_DeterministicEncoding_SameBytesForEqualPlans()
    {
        static Plan Make() => new()
        {
            Cluster = "c",
            Node = "n",
            SteadyState = new SteadyStatePlan { Runtime = Runtime.Etcd, Probes = { new Probe { Name = "etcd", EtcdHealth = new EtcdHealthProbe() } } },
        };

        static byte[] Encode(Plan plan)
        {
            using var stream = new MemoryStream();
            using var output = new CodedOutputStream(stream);
            output.Deterministic = true;
            plan.WriteTo(output);
            output.Flush();
            return stream.ToArray();
        }

        Assert.Equal(Encode(Make()), Encode(Make()));
    }

    [Fact]
    public void Services_Descriptors_ExposeTheDesignedMethods()
    {
        Assert.Equal(["Register", "GetPlan", "ReportStatus"],
            AgentService.Descriptor.Methods.Select(m => m.Name));
        Assert.True(OperationService.Descriptor.FindMethodByName("WatchOperation").IsServerStreaming);
        Assert.Contains(SnapshotService.Descriptor.Methods, m => m.Name == "RestoreSnapshot");
        Assert.Contains(ClusterService.Descriptor.Methods, m => m.Name == "SetSnapshotSettings");
    }
}
