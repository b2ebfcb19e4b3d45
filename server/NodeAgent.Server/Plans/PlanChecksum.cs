using System.Security.Cryptography;
using Google.Protobuf;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Plans;

/// <summary>sha256 (lowercase hex) of a plan's deterministic protobuf encoding with its checksum field empty.</summary>
internal static class PlanChecksum
{
    public static string Compute(Plan plan)
    {
        var copy = plan.Clone();
        copy.Checksum = "";
        using var buffer = new MemoryStream();
        using (var output = new CodedOutputStream(buffer, leaveOpen: true))
        {
            output.Deterministic = true;
            copy.WriteTo(output);
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
    }

    /// <summary>Sets <see cref="Plan.Checksum"/> and returns the plan.</summary>
    public static Plan Seal(Plan plan)
    {
        plan.Checksum = Compute(plan);
        return plan;
    }
}
