using Grpc.Core;
using NodeAgent.Ctl.Commands;

namespace NodeAgent.Ctl.Tests;

public sealed class CtlContextTests
{
    /// <summary>
    /// A call that outlives its deadline used to print "nodeagentctl: DeadlineExceeded: " with nothing after it
    /// (gRPC sets no detail on a client-side deadline), as a loaded CI machine showed.
    /// </summary>
    [Fact]
    public void Describe_DeadlineExceeded_SaysTheServerDidNotAnswerInTime()
    {
        var message = CtlContext.Describe(new RpcException(new Status(StatusCode.DeadlineExceeded, "")));

        Assert.Equal("the plan server did not answer within 30s; it may be overloaded or stopped (retry, or check it with 'systemctl status plan-server')", message);
    }

    [Fact]
    public void Describe_OtherStatus_NamesTheStatusAndTheServersDetail()
        => Assert.Equal("NotFound: cluster 'x' not found", CtlContext.Describe(new RpcException(new Status(StatusCode.NotFound, "cluster 'x' not found"))));
}
