using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Clusters;

/// <summary>An etcd member's settings as an agent registers them: checked so a restore's initial cluster is well formed.</summary>
internal static class EtcdMember
{
    public static string RequireName(string name)
        => name.Contains('=', StringComparison.Ordinal) || name.Contains(',', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace)
            ? throw DomainException.Invalid($"etcd_member_name '{name}' must not contain '=', ',' or spaces")
            : name;

    public static IReadOnlyList<string> RequirePeerUrls(IEnumerable<string> urls)
    {
        var list = new List<string>();
        foreach (var url in urls)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.IsDefaultPort
                || uri.AbsolutePath != "/" || uri.Query.Length > 0 || url.Contains(',', StringComparison.Ordinal))
            {
                throw DomainException.Invalid($"etcd_peer_urls: '{url}' is not a peer URL of the form http(s)://host:port");
            }
            list.Add(url.TrimEnd('/'));
        }
        return list;
    }
}
