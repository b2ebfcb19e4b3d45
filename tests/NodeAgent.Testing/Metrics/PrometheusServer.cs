using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Metrics;

/// <summary>
/// A real Prometheus (Debian's) scraping the given targets every second, on a free loopback port,
/// with its data in a temporary directory. Tests ask its HTTP API what it scraped.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly TempDir _dir;
    private readonly ManagedProcess _process;
    private readonly HttpClient _http;

    private PrometheusServer(TempDir dir, ManagedProcess process, Uri address)
    {
        _dir = dir;
        _process = process;
        _http = new HttpClient { BaseAddress = address, Timeout = TestTimeouts.Default };
    }

    public string Output => _process.Output;

    /// <param name="targets">job name → host:port serving /metrics.</param>
    public static async Task<PrometheusServer> StartAsync(IReadOnlyDictionary<string, string> targets)
    {
        var dir = new TempDir("nodeagent-prometheus-");
        var config = Path.Combine(dir.Path, "prometheus.yml");
        var jobs = string.Concat(targets.Select(t => $"  - job_name: {t.Key}\n    static_configs:\n      - targets: ['{t.Value}']\n"));
        await File.WriteAllTextAsync(config, $"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{jobs}");
        var port = FreePorts.Next();
        var process = ManagedProcess.Start("prometheus",
        [
            $"--config.file={config}",
            $"--storage.tsdb.path={Path.Combine(dir.Path, "data")}",
            string.Create(CultureInfo.InvariantCulture, $"--web.listen-address=127.0.0.1:{port}"),
        ]);
        var server = new PrometheusServer(dir, process, new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}")));
        try
        {
            await process.WaitUntilAsync(async ct =>
            {
                try
                {
                    return (await server._http.GetAsync(new Uri("-/ready", UriKind.Relative), ct)).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, TestTimeouts.Slow, "Prometheus ready");
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The values of an instant query, one per series, with the series' labels.</summary>
    public async Task<IReadOnlyList<MetricSample>> QueryAsync(string promql, CancellationToken cancellationToken)
    {
        var reply = await _http.GetFromJsonAsync<JsonElement>(new Uri("api/v1/query?query=" + Uri.EscapeDataString(promql), UriKind.Relative), cancellationToken);
        return reply.GetProperty("data").GetProperty("result").EnumerateArray().Select(r => new MetricSample(
            r.GetProperty("metric").TryGetProperty("__name__", out var n) ? n.GetString()! : "",
            r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal),
            double.Parse(r.GetProperty("value")[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture))).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
        _dir.Dispose();
    }
}
