using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Security;

namespace NodeAgent.Server.Api;

/// <summary>nodeagent.v1.OperationService: get, list, watch live, cancel.</summary>
[Authorize(AuthenticationSchemes = Caller.Scheme, Roles = Caller.AdminRole)]
internal sealed class OperationApi(OperationEngine engine, OperationChangeNotifier changes, IHostApplicationLifetime lifetime) : OperationService.OperationServiceBase
{
    public override async Task<GetOperationResponse> GetOperation(GetOperationRequest request, ServerCallContext context)
        => new() { Operation = (await engine.GetAsync(request.Id, context.CancellationToken)).State };

    public override async Task<ListOperationsResponse> ListOperations(ListOperationsRequest request, ServerCallContext context)
    {
        var response = new ListOperationsResponse();
        response.Operations.AddRange((await engine.ListAsync(request.Cluster, request.ActiveOnly, context.CancellationToken)).Select(o => o.State));
        return response;
    }

    public override async Task WatchOperation(WatchOperationRequest request, IServerStreamWriter<WatchOperationResponse> responseStream, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        using var held = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
        Operation? sent = null;
        while (true)
        {
            var change = changes.NextChange(request.Id);
            var operation = (await engine.GetAsync(request.Id, ct)).State;
            if (!operation.Equals(sent))
            {
                await responseStream.WriteAsync(new WatchOperationResponse { Operation = operation }, ct);
                sent = operation;
            }
            if (OperationPhases.IsTerminal(operation.Phase))
            {
                return;
            }
            try
            {
                await change.WaitAsync(held.Token);
            }
            catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // A stopping server ends the watch at once; the client may watch again once it is back.
                throw new RpcException(new Status(StatusCode.Unavailable, "the plan server is stopping"));
            }
        }
    }

    public override async Task<CancelOperationResponse> CancelOperation(CancelOperationRequest request, ServerCallContext context)
        => new() { Operation = (await engine.CancelAsync(request.Id, context.GetHttpContext().User.Identity?.Name ?? "admin", context.CancellationToken)).State };
}
