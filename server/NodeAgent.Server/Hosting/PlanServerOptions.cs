using System.Globalization;
using System.Net;

namespace NodeAgent.Server.Hosting;

/// <summary>Start-up settings of the plan server, validated before anything starts.</summary>
internal sealed class PlanServerOptions
{
    public const string DefaultDataDir = "/var/lib/plan-server";
    public const string DefaultListen = "127.0.0.1:9180";
    public const string DefaultMetricsListen = "127.0.0.1:9181";
    public const string DefaultS3ListInterval = "10m";

    public string DataDir { get; set; } = DefaultDataDir;

    public string Listen { get; set; } = DefaultListen;

    /// <summary>Phase deadlines of operations.</summary>
    public Operations.OperationTimeouts Timeouts { get; set; } = new();

    public IPEndPoint ListenEndPoint => IPEndPoint.Parse(Listen);

    /// <summary>Where to serve <c>/metrics</c> and <c>/healthz</c> (plain HTTP); "none" turns them off.</summary>
    public string MetricsListen { get; set; } = DefaultMetricsListen;

    public IPEndPoint? MetricsEndPoint => MetricsListen == "none" ? null : IPEndPoint.Parse(MetricsListen);

    /// <summary>How often the server lists every cluster's S3 folder itself (also at start and when a cluster's settings change).</summary>
    public TimeSpan S3ListInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Serve HTTP/2 without TLS. Allowed on loopback addresses only.</summary>
    public bool Plaintext { get; set; }

    /// <summary>Extra names (DNS or IP) for the serving certificate the server makes itself.</summary>
    public IReadOnlyList<string> TlsSans { get; set; } = [];

    /// <summary>A serving certificate and key (PEM) to use instead of the server's own CA.</summary>
    public string TlsCertFile { get; set; } = "";

    public string TlsKeyFile { get; set; } = "";

    /// <summary>The etcd store (<c>--store etcd</c>) the records live in; null for the embedded SQLite database in the data dir.</summary>
    public Store.Etcd.EtcdStoreOptions? EtcdStore { get; set; }

    /// <summary>A node not connected and not seen for longer is unreachable (operations do not wait for it).</summary>
    public TimeSpan NodeUnreachableAfter { get; set; } = Clusters.NodeLivenessOptions.DefaultUnreachableAfter;

    /// <summary>A duration as <c>--s3-list-interval</c> takes it: 30s, 10m, 1h, 1h30m.</summary>
    public static bool TryParseInterval(string text, out TimeSpan interval)
    {
        interval = TimeSpan.Zero;
        var match = System.Text.RegularExpressions.Regex.Match(text, @"^(?:(?<h>\d{1,5})h)?(?:(?<m>\d{1,5})m)?(?:(?<s>\d{1,5})s)?$", System.Text.RegularExpressions.RegexOptions.None, TimeSpan.FromSeconds(1));
        if (text.Length == 0 || !match.Success)
        {
            return false;
        }
        int Part(string name) => match.Groups[name].Success ? int.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
        interval = new TimeSpan(Part("h"), Part("m"), Part("s"));
        return true;
    }

    public bool TryValidate(out string error)
    {
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            error = "--data-dir must not be empty";
            return false;
        }
        if (!IPEndPoint.TryParse(Listen, out var endPoint) || endPoint.Port == 0 && !Listen.EndsWith(":0", StringComparison.Ordinal))
        {
            error = string.Create(CultureInfo.InvariantCulture,
                $"--listen '{Listen}' is not HOST:PORT with a numeric IP address (e.g. 127.0.0.1:9180)");
            return false;
        }
        if (MetricsListen != "none"
            && (!IPEndPoint.TryParse(MetricsListen, out var metrics) || metrics.Port == 0 || metrics.Equals(endPoint)))
        {
            error = string.Create(CultureInfo.InvariantCulture,
                $"--metrics-listen '{MetricsListen}' is not HOST:PORT with a numeric IP address and a port other than --listen's (e.g. 127.0.0.1:9181), nor 'none'");
            return false;
        }
        if (S3ListInterval < TimeSpan.FromSeconds(10) || S3ListInterval > TimeSpan.FromDays(1))
        {
            error = "--s3-list-interval must be between 10s and 24h";
            return false;
        }
        if (Plaintext && !IPAddress.IsLoopback(IPEndPoint.Parse(Listen).Address))
        {
            error = $"--plaintext is allowed on a loopback address only, not on {Listen}: tokens would cross the network unencrypted";
            return false;
        }
        if ((TlsCertFile.Length == 0) != (TlsKeyFile.Length == 0))
        {
            error = "--tls-cert-file and --tls-key-file go together";
            return false;
        }
        foreach (var file in new[] { TlsCertFile, TlsKeyFile }.Where(f => f.Length > 0 && !File.Exists(f)))
        {
            error = $"TLS file '{file}' does not exist";
            return false;
        }
        error = "";
        return true;
    }
}
