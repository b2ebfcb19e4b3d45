namespace NodeAgent.Server.Store.Etcd;

/// <summary>
/// Where the etcd store is (<c>--store etcd</c>): the members' client URLs, the TLS files to reach
/// them (a CA to pin, a client certificate and key when etcd asks for one) and the key prefix every
/// record lives under, so one etcd can hold several plan servers or other tenants.
/// </summary>
internal sealed record EtcdStoreOptions(IReadOnlyList<Uri> Endpoints, string Prefix, string? CaFile, string? CertFile, string? KeyFile)
{
    public const string DefaultPrefix = "/nodeagent";

    /// <summary>Validated options from the command line's texts; null with <paramref name="error"/> saying what is wrong.</summary>
    public static EtcdStoreOptions? TryCreate(string? endpoints, string? prefix, string? caFile, string? certFile, string? keyFile, out string error)
    {
        error = "";
        var texts = (endpoints ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (texts.Length == 0)
        {
            error = "--store etcd needs --store-endpoints: the etcd members' client URLs, comma-separated (e.g. https://10.0.0.1:2379,https://10.0.0.2:2379)";
            return null;
        }
        var list = new List<Uri>();
        foreach (var text in texts)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.IsDefaultPort && !text.Contains(':', StringComparison.Ordinal))
            {
                error = $"--store-endpoints: '{text}' is not an http:// or https:// URL of the form scheme://host:port";
                return null;
            }
            list.Add(uri);
        }
        if (list.Select(u => u.Scheme).Distinct().Count() > 1)
        {
            error = "--store-endpoints mixes http:// and https://; use one scheme for every member";
            return null;
        }
        prefix = string.IsNullOrEmpty(prefix) ? DefaultPrefix : prefix;
        if (!prefix.StartsWith('/') || prefix.EndsWith('/') || prefix.Contains("//", StringComparison.Ordinal) || prefix.Any(char.IsControl))
        {
            error = $"--store-prefix '{prefix}' must start with '/', not end with '/' and hold no empty segment (e.g. /nodeagent)";
            return null;
        }
        if ((certFile is { Length: > 0 }) != (keyFile is { Length: > 0 }))
        {
            error = "--store-cert and --store-key go together";
            return null;
        }
        if (list[0].Scheme == "http" && new[] { caFile, certFile }.Any(f => f is { Length: > 0 }))
        {
            error = "--store-cacert, --store-cert and --store-key are for https:// endpoints; --store-endpoints are http://";
            return null;
        }
        foreach (var file in new[] { caFile, certFile, keyFile }.Where(f => f is { Length: > 0 } && !File.Exists(f)))
        {
            error = $"store TLS file '{file}' does not exist";
            return null;
        }
        return new EtcdStoreOptions(list, prefix, NullIfEmpty(caFile), NullIfEmpty(certFile), NullIfEmpty(keyFile));
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
