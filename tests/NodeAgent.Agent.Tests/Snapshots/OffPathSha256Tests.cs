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
        using var hash = new OffPathSha256();
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
}
