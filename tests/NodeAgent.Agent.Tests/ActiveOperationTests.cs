using NodeAgent.Agent.Plans;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests;

/// <summary>
/// The plan loop may end an operation twice: a newer plan stops it, the switch then throws (the agent is
/// stopping while it reports), and the loop's <c>finally</c> finishes the same operation again.
/// </summary>
public sealed class ActiveOperationTests
{
    [Fact]
    public async Task FinishAsync_AfterStopAsync_AwaitsTheEndedOperationWithoutThrowing()
    {
        var operation = new ActiveOperation("op/i", "c1", CancellationToken.None, CancellationToken.None);
        var aborted = false;
        operation.Task = Task.Delay(Timeout.InfiniteTimeSpan, operation.Abort).ContinueWith(_ => aborted = true, TaskScheduler.Default);

        await operation.StopAsync().DefaultTimeout();
        await operation.FinishAsync().DefaultTimeout();

        Assert.True(aborted);
    }

    [Fact]
    public async Task FinishAsync_Twice_SecondCallOnlyAwaits()
    {
        var operation = new ActiveOperation("op/i", "c1", CancellationToken.None, CancellationToken.None);
        var stopped = false;
        operation.Task = Task.Delay(Timeout.InfiniteTimeSpan, operation.Stopping).ContinueWith(_ => stopped = true, TaskScheduler.Default);

        await operation.FinishAsync().DefaultTimeout();
        await operation.FinishAsync().DefaultTimeout();

        Assert.True(stopped);
    }
}
