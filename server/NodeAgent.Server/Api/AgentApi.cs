using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Agents;
using NodeAgent.Server.Catalog;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Security;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Api;

/// <summary>nodeagent.v1.AgentService: what node agents call. An agent may act only for its own node.</summary>
[Authorize(AuthenticationSchemes = Caller.Scheme, Roles = Caller.NodeRole)]
internal sealed partial class AgentApi(
    ClusterRegistry registry,
    PlanDelivery delivery,
    AgentConnections connections,
    IPlanStore store,
    SnapshotCatalog catalog,
    OperationEngine operations,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<AgentApi> logger) : AgentService.AgentServiceBase
{
    /// <summary>How stale the stored last-seen of a polling node may get.</summary>
    public static readonly TimeSpan LivenessWriteInterval = TimeSpan.FromSeconds(30);

    [AllowAnonymous]
    public override async Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
    {
        // An agent that sends its current credential proves the name is its own (a re-registration).
        var provesNode = Caller.IsNode(context.GetHttpContext().User, request.Cluster, request.Node);
        var (node, credential) = await registry.RegisterAsync(request, provesNode, context.CancellationToken);
        var plan = await delivery.CurrentPlanAsync(node.Cluster, node.Name, context.CancellationToken);
        return new RegisterResponse { NodeCredential = credential, Node = node.ToProto(plan.Checksum, new NodeLivenessView(false, node.LastSeen, false)) };
    }

    public override async Task<GetPlanResponse> GetPlan(GetPlanRequest request, ServerCallContext context)
    {
        RequireSelf(context, request.Cluster, request.Node);
        try
        {
            await TouchAsync(context, request.Cluster, request.Node, appliedChecksum: null, agentVersion: null, lastReportError: null, facts: null, probes: null, context.CancellationToken);
        }
        catch (StoreUnavailableException ex)
        {
            // A poll's last-seen is best effort (this replica counts the connection in memory as it
            // is): a slow or unreachable store must not fail the poll that would deliver its plan.
            LogLivenessNotStored(logger, request.Cluster, request.Node, ex.Message);
        }
        using var _ = connections.Open(request.Cluster, request.Node);
        // A stopping server answers a held poll at once ("unchanged"), so the stop need not wait it out.
        using var held = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            return await delivery.GetPlanAsync(request.Cluster, request.Node, request.KnownChecksum,
                request.Wait?.ToTimeSpan(), held.Token);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            return new GetPlanResponse { Unchanged = true };
        }
    }

    /// <summary>Records liveness and the applied checksum, the probes' results, the inventory, and step results (which advance the operation).</summary>
    public override async Task<ReportStatusResponse> ReportStatus(ReportStatusRequest request, ServerCallContext context)
    {
        RequireSelf(context, request.Cluster, request.Node);
        await TouchAsync(context, request.Cluster, request.Node, request.AppliedChecksum, request.AgentVersion, request.LastReportError, request.RuntimeFacts,
            ProbeResults.FromReport(request.Probes, time.GetUtcNow()), context.CancellationToken);
        if (request.Inventory is { } inventory)
        {
            await catalog.ReportInventoryAsync(request.Cluster, request.Node, inventory, context.CancellationToken);
        }
        await operations.RecordStepsAsync(request.Cluster, request.Node, request.Steps, context.CancellationToken);
        var plan = await delivery.CurrentPlanAsync(request.Cluster, request.Node, context.CancellationToken);
        return new ReportStatusResponse { DesiredChecksum = plan.Checksum };
    }

    private static void RequireSelf(ServerCallContext context, string cluster, string node)
    {
        if (!Caller.IsNode(context.GetHttpContext().User, cluster, node))
        {
            throw new DomainException(DomainErrorKind.PermissionDenied,
                $"this credential may not act for node '{node}' of cluster '{cluster}'");
        }
    }

    /// <param name="facts">What the agent finds on the node (every full report carries it); null keeps what is stored.</param>
    /// <param name="probes">The probes' latest results (every report carries them all); null keeps what is stored.</param>
    private async Task TouchAsync(ServerCallContext context, string cluster, string node, string? appliedChecksum, string? agentVersion, string? lastReportError,
        RuntimeFacts? facts, IReadOnlyList<NodeProbe>? probes, CancellationToken cancellationToken)
    {
        var advertiseAddress = facts is null ? null : AdvertiseAddress.Require(facts.AdvertiseAddress, "runtime_facts.advertise_address");
        connections.Seen(cluster, node);
        // What the agent says is applied to the record as it is now: one that changed since it was
        // read (an operator, the node's other call, another replica) is read again and the change redone.
        for (var attempt = 1; ; attempt++)
        {
            // The first time, the record the credential was just checked against (no second read).
            var record = (attempt == 1 ? Caller.NodeRecordOf(context.GetHttpContext(), cluster, node) : null)
                ?? await store.GetNodeAsync(cluster, node, cancellationToken)
                ?? throw DomainException.NotFound($"node '{node}' is not registered in cluster '{cluster}'");
            var now = time.GetUtcNow();
            if (appliedChecksum is null && agentVersion is null && lastReportError is null && now - record.LastSeen < LivenessWriteInterval)
            {
                // A poll only says the node is alive: when a plan change wakes every agent at once, a
                // durable write per poll would queue them all behind the disk. Live connections are
                // tracked in memory (AgentConnections); the stored last-seen may lag by this interval.
                return;
            }
            try
            {
                await store.UpdateNodeAsync(record with
                {
                    LastSeen = now,
                    AppliedChecksum = appliedChecksum ?? record.AppliedChecksum,
                    AgentVersion = string.IsNullOrEmpty(agentVersion) ? record.AgentVersion : agentVersion,
                    LastReportError = lastReportError ?? record.LastReportError,
                    AdvertiseAddress = advertiseAddress ?? record.AdvertiseAddress,
                    RuntimeVersion = facts?.RuntimeVersion ?? record.RuntimeVersion,
                    RuntimeSnapshotsEnabled = facts?.RuntimeSnapshotsEnabled ?? record.RuntimeSnapshotsEnabled,
                    Probes = probes ?? record.Probes,
                }, cancellationToken);
                return;
            }
            catch (StoreConflictException) when (attempt < StoreConflictException.Attempts)
            {
            }
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "Node {Cluster}/{Node}: its poll goes on, but its last-seen was not stored: {Reason}")]
    private static partial void LogLivenessNotStored(ILogger logger, string cluster, string node, string reason);
}
