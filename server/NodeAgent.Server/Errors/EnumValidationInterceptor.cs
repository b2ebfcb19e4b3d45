using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace NodeAgent.Server.Errors;

/// <summary>
/// The gRPC edge refuses any request carrying an enum number its enum does not define, with
/// INVALID_ARGUMENT naming the field and the allowed names, before a handler sees it. Agent
/// requests too: a server must be upgraded before its agents, and a status it cannot read is
/// refused rather than recorded as something else.
/// </summary>
internal sealed class EnumValidationInterceptor : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(request);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(request);
        return continuation(request, responseStream, context);
    }

    private static void Check<TRequest>(TRequest request)
    {
        if (request is IMessage message && UndefinedEnumCheck.Find(message) is { } error)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }
    }
}
