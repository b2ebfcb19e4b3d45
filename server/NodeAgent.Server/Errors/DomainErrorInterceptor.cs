using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Data.Sqlite;

namespace NodeAgent.Server.Errors;

/// <summary>
/// The gRPC edge: turns domain failures into statuses with their message, and a failing store
/// (locked, damaged, full disk; etcd out of reach) into UNAVAILABLE with the store's reason instead of
/// "Exception was thrown by handler", and a write that lost a race (<see cref="StoreConflictException"/>) into ABORTED.
/// </summary>
internal sealed partial class DomainErrorInterceptor(ILogger<DomainErrorInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (DomainException ex)
        {
            throw ToRpc(ex);
        }
        catch (SqliteException ex)
        {
            throw StoreFailed(context, ex);
        }
        catch (StoreUnavailableException ex)
        {
            throw StoreFailed(context, ex.Message);
        }
        catch (StoreConflictException ex)
        {
            throw new RpcException(new Status(StatusCode.Aborted, ex.Message));
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (DomainException ex)
        {
            throw ToRpc(ex);
        }
        catch (SqliteException ex)
        {
            throw StoreFailed(context, ex);
        }
        catch (StoreUnavailableException ex)
        {
            throw StoreFailed(context, ex.Message);
        }
        catch (StoreConflictException ex)
        {
            throw new RpcException(new Status(StatusCode.Aborted, ex.Message));
        }
    }

    private RpcException StoreFailed(ServerCallContext context, SqliteException ex)
    {
        LogStoreFailed(logger, context.Method, ex.Message);
        return new RpcException(new Status(StatusCode.Unavailable, $"the plan server's database failed: {ex.Message}"));
    }

    private RpcException StoreFailed(ServerCallContext context, string reason)
    {
        LogStoreFailed(logger, context.Method, reason);
        return new RpcException(new Status(StatusCode.Unavailable, $"the plan server's store failed: {reason}"));
    }

    private static RpcException ToRpc(DomainException ex) => new(new Status(ex.Kind switch
    {
        DomainErrorKind.InvalidArgument => StatusCode.InvalidArgument,
        DomainErrorKind.NotFound => StatusCode.NotFound,
        DomainErrorKind.AlreadyExists => StatusCode.AlreadyExists,
        DomainErrorKind.FailedPrecondition => StatusCode.FailedPrecondition,
        DomainErrorKind.PermissionDenied => StatusCode.PermissionDenied,
        _ => StatusCode.Internal,
    }, ex.Message));

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "{Method} failed: the database failed: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string method, string reason);
}
