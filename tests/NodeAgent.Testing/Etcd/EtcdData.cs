using System.Globalization;
using System.Security.Cryptography;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace NodeAgent.Testing.Etcd;

/// <summary>Loads test data into etcd and reads it back, to prove a snapshot or restore kept every key.</summary>
public static class EtcdData
{
    private const int PutAttempts = 5;

    /// <summary>
    /// Puts <paramref name="megabytes"/> MB as values of <paramref name="valueBytes"/> bytes under
    /// <paramref name="prefix"/> (keys prefix000001, ...), pseudo-random so compression cannot cheat.
    /// </summary>
    public static async Task<int> LoadAsync(string endpoint, int megabytes, string prefix = "/bench/", int valueBytes = 1024 * 1024, int parallel = 4, CancellationToken cancellationToken = default)
    {
        var count = (int)Math.Ceiling(megabytes * 1024.0 * 1024.0 / valueBytes);
        using var client = new EtcdClient(endpoint);
        var next = 0;
        async Task Worker()
        {
            var value = new byte[valueBytes];
            int i;
            while ((i = Interlocked.Increment(ref next)) <= count)
            {
                RandomNumberGenerator.Fill(value);
                var put = new PutRequest { Key = ByteString.CopyFromUtf8(Key(prefix, i)), Value = ByteString.CopyFrom(value) };
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        await client.PutAsync(put, cancellationToken: cancellationToken);
                        break;
                    }
                    catch (RpcException ex) when (attempt < PutAttempts && (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded
                        || (ex.StatusCode == StatusCode.Unknown && ex.Status.Detail.Contains("deadline exceeded", StringComparison.Ordinal))))
                    {
                        // "etcdserver: request timed out", or "context deadline exceeded" (status Unknown): on a
                        // loaded machine a member's fsync can outlast etcd's own request timeout (three CI runs
                        // lost a test to it). The put is the same bytes, so sending it again is safe whether or
                        // not the first one committed.
                    }
                }
            }
        }
        await Task.WhenAll(Enumerable.Range(0, parallel).Select(_ => Worker()));
        return count;
    }

    /// <summary>Every key under <paramref name="prefix"/> with the sha256 of its value, read in pages (bounded memory).</summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadAllAsync(string endpoint, string prefix = "/", CancellationToken cancellationToken = default)
    {
        using var client = new EtcdClient(endpoint);
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var from = ByteString.CopyFromUtf8(prefix);
        var end = ByteString.CopyFromUtf8(EtcdClient.GetRangeEnd(prefix));
        while (true)
        {
            var page = await client.GetAsync(new RangeRequest { Key = from, RangeEnd = end, Limit = 2 }, cancellationToken: cancellationToken);
            foreach (var kv in page.Kvs)
            {
                result[kv.Key.ToStringUtf8()] = Convert.ToHexStringLower(SHA256.HashData(kv.Value.Span));
            }
            if (!page.More || page.Kvs.Count == 0)
            {
                return result;
            }
            from = ByteString.CopyFrom([.. page.Kvs[^1].Key.Span, 0]);
        }
    }

    /// <summary>Puts small key/value pairs.</summary>
    public static async Task PutAsync(string endpoint, IEnumerable<KeyValuePair<string, string>> pairs, CancellationToken cancellationToken = default)
    {
        using var client = new EtcdClient(endpoint);
        foreach (var (key, value) in pairs)
        {
            await client.PutAsync(key, value, cancellationToken: cancellationToken);
        }
    }

    private static string Key(string prefix, int i) => prefix + i.ToString("D6", CultureInfo.InvariantCulture);
}
