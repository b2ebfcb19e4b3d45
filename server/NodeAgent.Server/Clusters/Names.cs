using System.Text.RegularExpressions;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Clusters;

/// <summary>Rules for cluster, node and snapshot names.</summary>
internal static partial class Names
{
    public static void RequireClusterName(string name, string field = "name")
    {
        if (!DnsLabel().IsMatch(name))
        {
            throw DomainException.Invalid($"{field} '{name}' must be a DNS label: 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit");
        }
    }

    public static void RequireNodeName(string name, string field = "node")
    {
        if (!NodeName().IsMatch(name))
        {
            throw DomainException.Invalid($"{field} '{name}' must be 1-253 characters of lowercase letters, digits, '-' or '.' (a Kubernetes node name)");
        }
    }

    /// <summary>A snapshot file name or prefix: a bare name, never a path.</summary>
    public static void RequireSnapshotPrefix(string name, string field)
    {
        if (name.Length == 0 || name.Length > 200 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal)
            || name.Contains('\\', StringComparison.Ordinal) || name.Any(char.IsControl))
        {
            throw DomainException.Invalid($"{field} '{name}' must be a bare file name (no '/', no '..', 1-200 characters)");
        }
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")]
    private static partial Regex NodeName();
}
