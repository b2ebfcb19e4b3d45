using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Agents;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Security;

namespace NodeAgent.Server.Api;

/// <summary>nodeagent.v1.ClusterService: the operator's view of clusters and nodes.</summary>
[Authorize(AuthenticationSchemes = Caller.Scheme, Roles = Caller.AdminRole)]
internal sealed class ClusterApi(
    ClusterRegistry registry, PlanDelivery delivery, NodeLiveness liveness, OperationEngine operations, Catalog.S3Listings s3Listings, Catalog.S3ListingTriggers s3Triggers)
    : ClusterService.ClusterServiceBase
{
    public override async Task<CreateClusterResponse> CreateCluster(CreateClusterRequest request, ServerCallContext context)
    {
        var cluster = await registry.CreateAsync(request, context.CancellationToken);
        return new CreateClusterResponse { Cluster = cluster.ToProto(0), BootstrapToken = cluster.BootstrapToken };
    }

    public override async Task<GetClusterResponse> GetCluster(GetClusterRequest request, ServerCallContext context)
    {
        var cluster = await registry.GetAsync(request.Name, context.CancellationToken);
        var nodes = await registry.ListNodesAsync(cluster.Name, context.CancellationToken);
        return new GetClusterResponse
        {
            Cluster = cluster.ToProto(nodes.Count),
            BootstrapToken = request.IncludeBootstrapToken ? cluster.BootstrapToken : "",
            S3Listing = await s3Listings.StatusAsync(cluster.Name, context.CancellationToken),
        };
    }

    public override async Task<ListClustersResponse> ListClusters(ListClustersRequest request, ServerCallContext context)
    {
        var response = new ListClustersResponse();
        foreach (var cluster in await registry.ListAsync(context.CancellationToken))
        {
            var nodes = await registry.ListNodesAsync(cluster.Name, context.CancellationToken);
            response.Clusters.Add(cluster.ToProto(nodes.Count));
        }
        return response;
    }

    public override async Task<UpdateClusterResponse> UpdateCluster(UpdateClusterRequest request, ServerCallContext context)
    {
        var cluster = await registry.UpdateAsync(request, context.CancellationToken);
        var nodes = await registry.ListNodesAsync(cluster.Name, context.CancellationToken);
        return new UpdateClusterResponse { Cluster = cluster.ToProto(nodes.Count) };
    }

    public override async Task<SetSnapshotSettingsResponse> SetSnapshotSettings(SetSnapshotSettingsRequest request, ServerCallContext context)
    {
        var cluster = await registry.SetSnapshotSettingsAsync(request.Cluster, request.SnapshotSettings, context.CancellationToken);
        s3Triggers.SettingsChanged(cluster.Name);
        var nodes = await registry.ListNodesAsync(cluster.Name, context.CancellationToken);
        return new SetSnapshotSettingsResponse { Cluster = cluster.ToProto(nodes.Count) };
    }

    public override async Task<DeleteClusterResponse> DeleteCluster(DeleteClusterRequest request, ServerCallContext context)
    {
        await registry.DeleteAsync(request.Name, context.CancellationToken);
        return new DeleteClusterResponse();
    }

    public override async Task<ListNodesResponse> ListNodes(ListNodesRequest request, ServerCallContext context)
    {
        var response = new ListNodesResponse();
        foreach (var node in await registry.ListNodesAsync(request.Cluster, context.CancellationToken))
        {
            var desired = (await delivery.CurrentPlanAsync(node.Cluster, node.Name, context.CancellationToken)).Checksum;
            response.Nodes.Add(node.ToProto(desired, liveness.Of(node)));
        }
        return response;
    }

    public override async Task<UpdateNodeResponse> UpdateNode(UpdateNodeRequest request, ServerCallContext context)
    {
        var node = await registry.UpdateNodeAsync(request, context.CancellationToken);
        var desired = (await delivery.CurrentPlanAsync(node.Cluster, node.Name, context.CancellationToken)).Checksum;
        return new UpdateNodeResponse { Node = node.ToProto(desired, liveness.Of(node)) };
    }

    public override async Task<ResetNodeResponse> ResetNode(ResetNodeRequest request, ServerCallContext context)
    {
        var node = await registry.ResetNodeAsync(request.Cluster, request.Node, context.CancellationToken);
        var desired = (await delivery.CurrentPlanAsync(node.Cluster, node.Name, context.CancellationToken)).Checksum;
        return new ResetNodeResponse { Node = node.ToProto(desired, liveness.Of(node)) };
    }

    public override async Task<DeleteNodeResponse> DeleteNode(DeleteNodeRequest request, ServerCallContext context)
    {
        await operations.DeleteNodeAsync(request.Cluster, request.Node, context.CancellationToken);
        return new DeleteNodeResponse();
    }
}
