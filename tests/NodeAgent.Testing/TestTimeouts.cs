using System.Runtime.CompilerServices;

namespace NodeAgent.Testing;

/// <summary>Every await in a test is bounded, so a broken test fails instead of hanging.</summary>
public static class TestTimeouts
{
    /// <summary>The bound for an ordinary await (an RPC, a small command).</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);

    /// <summary>The bound for starting a server (Ceph, etcd cluster) or a large transfer.</summary>
    public static readonly TimeSpan Slow = TimeSpan.FromMinutes(3);

    public static Task DefaultTimeout(this Task task,
        [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
        => task.WithTimeout(Default, file, line);

    public static Task<T> DefaultTimeout<T>(this Task<T> task,
        [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
        => task.WithTimeout(Default, file, line);

    /// <summary>
    /// <paramref name="task"/>, or a <see cref="TimeoutException"/> naming the line once <paramref name="timeout"/>
    /// passes; a task's own exception (a <see cref="TimeoutException"/> too) reaches the caller as it is.
    /// </summary>
    public static async Task WithTimeout(this Task task, TimeSpan timeout,
        [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        try
        {
            await task.WaitAsync(timeout);
        }
        catch (TimeoutException ex) when (!task.IsCompleted)
        {
            throw new TimeoutException($"Timed out after {timeout} at {Path.GetFileName(file)}:{line}", ex);
        }
    }

    public static async Task<T> WithTimeout<T>(this Task<T> task, TimeSpan timeout,
        [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        try
        {
            return await task.WaitAsync(timeout);
        }
        catch (TimeoutException ex) when (!task.IsCompleted)
        {
            throw new TimeoutException($"Timed out after {timeout} at {Path.GetFileName(file)}:{line}", ex);
        }
    }
}
