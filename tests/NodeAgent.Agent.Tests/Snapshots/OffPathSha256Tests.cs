using System.Security.Cryptography;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Snapshots;

public sealed class OffPathSha256Tests
{
    [Fact]
    public async Task DrainAsync_ChunksOfOddSizesOverSeveralBlocks_GivesTheSha256OfTheWholeStream()
    {
        var bytes = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 12345);
        await using var hash = new OffPathSha256();
        for (var offset = 0; offset < bytes.Length; offset += 32_771)
        {
            // The caller reuses its buffer at once: the hash must have taken its own copy.
            var chunk = bytes.AsSpan(offset, Math.Min(32_771, bytes.Length - offset)).ToArray();
            await hash.AppendAsync(chunk, CancellationToken.None).AsTask().WithTimeout(TestTimeouts.Default);
            Array.Clear(chunk);
        }

        var whole = await hash.DrainAsync().AsTask().WithTimeout(TestTimeouts.Default);

        Assert.Equal(SHA256.HashData(bytes), whole.GetHashAndReset());
    }

    /// <summary>
    /// A save cancelled while a block is hashing on the worker: disposing awaits the worker (no thread
    /// blocked on it) and ends within the deadline; a second dispose does nothing.
    /// </summary>
    [Fact]
    public async Task DisposeAsync_CancelledWhileABlockHashes_CompletesWithinTheDeadline()
    {
        var block = RandomNumberGenerator.GetBytes(1024 * 1024);
        var hash = new OffPathSha256();
        await hash.AppendAsync(block, CancellationToken.None).AsTask().WithTimeout(TestTimeouts.Default);
        using var cancel = new CancellationTokenSource();
        await cancel.CancelAsync();

        // The first block may or may not be hashed by now: the append is cancelled only if it must wait.
        var appended = await Record.ExceptionAsync(() => hash.AppendAsync(block, cancel.Token).AsTask().WithTimeout(TestTimeouts.Default));
        await hash.DisposeAsync().AsTask().WithTimeout(TestTimeouts.Default);
        await hash.DisposeAsync().AsTask().WithTimeout(TestTimeouts.Default);

        Assert.True(appended is null or OperationCanceledException, $"the append failed otherwise: {appended}");
    }
}
