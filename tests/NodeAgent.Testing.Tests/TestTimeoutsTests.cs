namespace NodeAgent.Testing.Tests;

/// <summary>The bound on an await tells its own deadline apart from a task that failed with a TimeoutException of its own.</summary>
public sealed class TestTimeoutsTests
{
    private sealed class OwnTimeoutException(string message) : TimeoutException(message);

    [Fact]
    public async Task WithTimeout_TheTaskFailsWithItsOwnTimeoutException_ItReachesTheCallerAsItIs()
    {
        var failed = Task.FromException<int>(new OwnTimeoutException("no byte for 3s"));

        var ex = await Assert.ThrowsAsync<OwnTimeoutException>(() => failed.DefaultTimeout());

        Assert.Equal("no byte for 3s", ex.Message);
    }

    [Fact]
    public async Task WithTimeout_TheTaskOutlivesTheBound_TimesOutNamingTheLine()
    {
        var never = new TaskCompletionSource().Task;

        var ex = await Assert.ThrowsAsync<TimeoutException>(() => never.WithTimeout(TimeSpan.FromMilliseconds(1)));

        Assert.StartsWith("Timed out after 00:00:00.0010000 at TestTimeoutsTests.cs:", ex.Message, StringComparison.Ordinal);
    }
}
