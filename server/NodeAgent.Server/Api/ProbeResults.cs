using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Api;

/// <summary>Probe results between the wire (ReportStatusRequest.probes, Node.probes) and the store.</summary>
internal static class ProbeResults
{
    /// <summary>A report's results, checked: at most <see cref="NodeProbe.MaxPerNode"/>, each named once; reasons cut to <see cref="NodeProbe.MaxMessage"/>.</summary>
    /// <exception cref="DomainException">INVALID_ARGUMENT naming the field.</exception>
    public static IReadOnlyList<NodeProbe> FromReport(RepeatedField<ProbeResult> probes, DateTimeOffset now)
    {
        if (probes.Count > NodeProbe.MaxPerNode)
        {
            throw DomainException.Invalid($"probes: a report carries at most {NodeProbe.MaxPerNode} probe results, this one {probes.Count}");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<NodeProbe>(probes.Count);
        for (var i = 0; i < probes.Count; i++)
        {
            var p = probes[i];
            if (p.Name.Length == 0 || !names.Add(p.Name))
            {
                throw DomainException.Invalid($"probes[{i}].name: {(p.Name.Length == 0 ? "empty" : $"'{p.Name}' appears twice")}");
            }
            var message = p.Message.Length <= NodeProbe.MaxMessage ? p.Message : p.Message[..(NodeProbe.MaxMessage - 3)] + "...";
            result.Add(new NodeProbe(p.Name, p.Healthy, p.Healthy ? "" : message, p.CheckedAt?.ToDateTimeOffset() ?? now));
        }
        return result;
    }

    public static ProbeResult ToProto(NodeProbe probe) => new()
    {
        Name = probe.Name,
        Healthy = probe.Healthy,
        Message = probe.Message,
        CheckedAt = Timestamp.FromDateTimeOffset(probe.CheckedAt),
    };
}
