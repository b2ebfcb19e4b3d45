using System.Text.Json;

namespace NodeAgent.Testing.Etcd;

/// <summary>One member's <c>etcdctl endpoint status -w json</c>, as ids.</summary>
/// <param name="Leader">The leader's member id, 0 while the member knows of no leader (an election).</param>
public sealed record EndpointStatus(ulong ClusterId, ulong MemberId, ulong Leader)
{
    public bool IsLeader => Leader != 0 && Leader == MemberId;
}

/// <summary>
/// Reads <c>etcdctl endpoint status -w json</c>. etcdctl prints the protobuf response with Go's
/// <c>omitempty</c>, so a field whose value is 0 is left out: <c>leader</c> is absent while an election
/// runs (a rejoining member in the k3s-standin saw that once and the parse threw). Compiled into the
/// k3s-standin too, so both read the output the same way.
/// </summary>
public static class EndpointStatusJson
{
    /// <summary>The first endpoint's status.</summary>
    /// <exception cref="FormatException">The text is not etcdctl's endpoint status JSON.</exception>
    public static EndpointStatus Parse(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Array || doc.RootElement.GetArrayLength() == 0
                || !doc.RootElement[0].TryGetProperty("Status", out var status))
            {
                throw new FormatException($"etcdctl endpoint status printed no status: {json.Trim()}");
            }
            var header = status.TryGetProperty("header", out var h) ? h : default;
            return new EndpointStatus(Id(header, "cluster_id"), Id(header, "member_id"), Id(status, "leader"));
        }
        catch (JsonException e)
        {
            throw new FormatException($"etcdctl endpoint status printed no JSON: {json.Trim()}", e);
        }
    }

    private static ulong Id(JsonElement element, string name)
        => element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value.GetUInt64() : 0;
}
