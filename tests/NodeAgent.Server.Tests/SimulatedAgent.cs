using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>
/// Speaks the agent API over real gRPC the way node-agent does, but applies plans by the test's
/// say-so: the server-side tests drive each step explicitly. (End-to-end tests use real agents.)
/// </summary>
internal sealed class SimulatedAgent(AgentService.AgentServiceClient client, string cluster, string node)
{
    public string Node => node;

    /// <param name="roles">Default: etcd.</param>
    public static Task<SimulatedAgent> RegisterAsync(InProcessPlanServer server, string cluster, string node, string bootstrapToken, params NodeRole[] roles)
        => RegisterAsync(server.Address, server.CaFile, cluster, node, bootstrapToken, roles);

    public static Task<SimulatedAgent> RegisterAsync(Uri server, string? caFile, string cluster, string node, string bootstrapToken, params NodeRole[] roles)
        => RegisterAsync(server, caFile, new RegisterRequest
        {
            Cluster = cluster, Node = node, BootstrapToken = bootstrapToken, Roles = { roles.Length > 0 ? roles : [NodeRole.Etcd] },
        });

    /// <summary>Registers with every field of <paramref name="request"/> as given (advertise address, member settings...).</summary>
    public static async Task<SimulatedAgent> RegisterAsync(Uri server, string? caFile, RegisterRequest request)
    {
        var registered = await new AgentService.AgentServiceClient(PlanServerChannels.Create(server, null, caFile)).RegisterAsync(request).ResponseAsync.DefaultTimeout();
        return Connect(server, caFile, request.Cluster, request.Node, registered.NodeCredential);
    }

    /// <summary>An agent that already holds its credential (e.g. after a server restart).</summary>
    public static SimulatedAgent Connect(Uri server, string? caFile, string cluster, string node, string credential)
        => new(new AgentService.AgentServiceClient(PlanServerChannels.Create(server, credential, caFile)), cluster, node) { Credential = credential };

    public string Credential { get; private init; } = "";

    public async Task<Plan> GetPlanAsync(string known = "", TimeSpan? wait = null)
    {
        var reply = await client.GetPlanAsync(new GetPlanRequest
        {
            Cluster = cluster, Node = node, KnownChecksum = known, Wait = Duration.FromTimeSpan(wait ?? TimeSpan.Zero),
        }).ResponseAsync.DefaultTimeout();
        return reply.Plan;
    }

    /// <summary>Reports a result of the plan's operation instruction.</summary>
    public Task<ReportStatusResponse> ReportStepAsync(Plan plan, StepState state, string message = "", SnapshotInventory? inventory = null)
        => ReportAsync(new ReportStatusRequest
        {
            AppliedChecksum = state == StepState.Succeeded ? plan.Checksum : "",
            Steps =
            {
                new StepResult
                {
                    OperationId = plan.Operation.OperationId,
                    InstructionId = plan.Operation.Instructions[0].Id,
                    State = state,
                    Attempt = 1,
                    Message = message,
                    Progress = new Progress { BytesDone = 1024, BytesTotal = 1024 },
                },
            },
            Inventory = inventory,
        });

    /// <summary>Says the plan (with no operation part) is applied.</summary>
    public Task<ReportStatusResponse> ReportAppliedAsync(Plan plan) => ReportAsync(new ReportStatusRequest { AppliedChecksum = plan.Checksum });

    public Task<ReportStatusResponse> ReportAsync(ReportStatusRequest request)
    {
        request.Cluster = cluster;
        request.Node = node;
        return client.ReportStatusAsync(request).ResponseAsync.DefaultTimeout();
    }
}
