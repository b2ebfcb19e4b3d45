using System.Globalization;
using System.Net;

namespace NodeAgent.Server.Hosting;

/// <summary>Start-up settings of the plan server, validated before anything starts.</summary>
internal sealed class PlanServerOptions
{
    public const string DefaultDataDir = "/var/lib/plan-server";
    public const string DefaultListen = "127.0.0.1:9180";
    public const string DefaultMetricsListen = "127.0.0.1:9181";

    public string DataDir { get; set; } = DefaultDataDir;

    public string Listen { get; set; } = DefaultListen;

    /// <summary>Phase deadlines of operations.</summary>
    public Operations.OperationTimeouts Timeouts { get; set; } = new();

    public IPEndPoint ListenEndPoint => IPEndPoint.Parse(Listen);

    /// <summary>Where to serve <c>/metrics</c> and <c>/healthz</c> (plain HTTP); "none" turns them off.</summary>
    public string MetricsListen { get; set; } = DefaultMetricsListen;

    public IPEndPoint? MetricsEndPoint => MetricsListen == "none" ? null : IPEndPoint.Parse(MetricsListen);

    /// <summary>Serve HTTP/2 without TLS. Allowed on loopback addresses only.</summary>
    public bool Plaintext { get; set; }

    /// <summary>Extra names (DNS or IP) for the serving certificate the server makes itself.</summary>
    public IReadOnlyList<string> TlsSans { get; set; } = [];

    /// <summary>A serving certificate and key (PEM) to use instead of the server's own CA.</summary>
    public string TlsCertFile { get; set; } = "";

    public string TlsKeyFile { get; set; } = "";

    /// <summary>A node not connected and not seen for longer is unreachable (operations do not wait for it).</summary>
    public TimeSpan NodeUnreachableAfter { get; set; } = Clusters.NodeLivenessOptions.DefaultUnreachableAfter;

    /// <summary>"90s", "3m", "1h": a whole number and a unit.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text.Length < 2 || !long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number <= 0 || number > 1_000_000)
        {
            return false;
        }
        value = text[^1] switch
        {
            's' => TimeSpan.FromSeconds(number),
            'm' => TimeSpan.FromMinutes(number),
            'h' => TimeSpan.FromHours(number),
            _ => TimeSpan.Zero,
        };
        return value > TimeSpan.Zero;
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
