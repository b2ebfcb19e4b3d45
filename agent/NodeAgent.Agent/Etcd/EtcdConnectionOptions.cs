namespace NodeAgent.Agent.Etcd;

/// <summary>
/// How the agent reaches the local etcd member. The defaults are K3s's and RKE2's: the member on
/// <c>https://127.0.0.1:2379</c> with the client certificates the runtime writes under
/// <c>&lt;data-dir&gt;/server/tls/etcd/</c>. A plain <c>http://</c> endpoint needs no certificates.
/// </summary>
internal sealed record EtcdConnectionOptions(IReadOnlyList<Uri> Endpoints, string? CaCertFile, string? CertFile, string? KeyFile)
{
    public const string DefaultEndpoint = "https://127.0.0.1:2379";

    public static readonly TimeSpan DefaultSnapshotStallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>A snapshot stream that sends nothing for this long fails (a frozen or wedged member), rather than waiting for ever.</summary>
    public TimeSpan SnapshotStallTimeout { get; init; } = DefaultSnapshotStallTimeout;

    /// <summary>The runtime's defaults; every value given (non-empty) overrides its default.</summary>
    public static EtcdConnectionOptions Resolve(string dataDir, string? endpoints, string? caCert, string? cert, string? key)
    {
        var list = (string.IsNullOrWhiteSpace(endpoints) ? DefaultEndpoint : endpoints)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(ParseEndpoint)
            .ToArray();
        if (list.Length == 0)
        {
            throw new EtcdRequestException("--endpoints names no etcd endpoint");
        }
        var secure = list.Any(e => e.Scheme == Uri.UriSchemeHttps);
        var tls = Path.Combine(dataDir, "server", "tls", "etcd");
        string? Pick(string? given, string fileName)
            => !string.IsNullOrEmpty(given) ? given : secure ? Path.Combine(tls, fileName) : null;
        return new EtcdConnectionOptions(list, Pick(caCert, "server-ca.crt"), Pick(cert, "client.crt"), Pick(key, "client.key"));
    }

    private static Uri ParseEndpoint(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri)
            || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0)
        {
            throw new EtcdRequestException($"etcd endpoint \"{text}\" is not an http:// or https:// URL of the form scheme://host:port");
        }
        return uri;
    }
}
