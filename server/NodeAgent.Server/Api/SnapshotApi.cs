using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Catalog;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Security;

namespace NodeAgent.Server.Api;

/// <summary>
/// nodeagent.v1.SnapshotService: one-time snapshots, the catalog, deletes and restores.
/// </summary>
[Authorize(AuthenticationSchemes = Caller.Scheme, Roles = Caller.AdminRole)]
internal sealed class SnapshotApi(OperationEngine engine, SnapshotCatalog catalog, S3Listings s3Listings) : SnapshotService.SnapshotServiceBase
{
    public override async Task<CreateSnapshotResponse> CreateSnapshot(CreateSnapshotRequest request, ServerCallContext context)
    {
        var operation = await engine.StartSnapshotAsync(request.Cluster, request.Name,
            request.HasCompress ? request.Compress : null, context.GetHttpContext().User.Identity?.Name ?? "admin", context.CancellationToken);
        return new CreateSnapshotResponse { Operation = operation.State };
    }

    public override async Task<ListSnapshotsResponse> ListSnapshots(ListSnapshotsRequest request, ServerCallContext context)
    {
        var response = new ListSnapshotsResponse();
        // Without a listing of the cluster's S3 folder yet (no node reported one), the server lists it itself first.
        response.S3Listing = await s3Listings.EnsureListedAsync(request.Cluster, context.CancellationToken);
        response.Snapshots.AddRange(await catalog.ListAsync(request.Cluster, request.Node, request.Storage, context.CancellationToken));
        return response;
    }

    public override async Task<RestoreSnapshotResponse> RestoreSnapshot(RestoreSnapshotRequest request, ServerCallContext context)
    {
        // A snapshot only in S3 is restorable before any agent of the cluster has reported it.
        await s3Listings.EnsureListedAsync(request.Cluster, context.CancellationToken);
        var operation = await engine.StartRestoreAsync(request.Cluster, request.Snapshot, request.RestoreMode,
            !request.HasSafetySnapshot || request.SafetySnapshot, request.AllowOtherCluster, context.GetHttpContext().User.Identity?.Name ?? "admin", context.CancellationToken);
        return new RestoreSnapshotResponse { Operation = operation.State };
    }

    public override async Task<DeleteSnapshotResponse> DeleteSnapshot(DeleteSnapshotRequest request, ServerCallContext context)
    {
        var operation = await engine.StartDeleteAsync(request.Cluster, request.Snapshot,
            context.GetHttpContext().User.Identity?.Name ?? "admin", context.CancellationToken);
        return new DeleteSnapshotResponse { Operation = operation.State };
    }
}
