using System.Net;
using NodeAgent.Agent.Config;

namespace NodeAgent.Agent.Metrics;

/// <summary>
/// Serves <c>GET /metrics</c> (Prometheus text format) and <c>GET /healthz</c> over plain HTTP on
/// <c>metrics-listen</c>; registered only when that key is set. /healthz is 200 while the plan
/// loop has heard from the server (or retried) recently, else 503 with how long it has been.
/// </summary>
internal sealed partial class MetricsListener(
    AgentMetrics metrics,
    IAgentLiveness liveness,
    AgentOptions options,
    ILogger<MetricsListener> logger) : BackgroundService
{
    private readonly HttpListener _listener = new();

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var endPoint = options.MetricsListen!;
        var host = endPoint.Address.Equals(IPAddress.Any) || endPoint.Address.Equals(IPAddress.IPv6Any) ? "+"
            : endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]"
            : endPoint.Address.ToString();
        _listener.Prefixes.Add($"http://{host}:{endPoint.Port}/");
        try
        {
            _listener.Start();
        }
        catch (HttpListenerException ex)
        {
            throw new InvalidOperationException($"metrics-listen {endPoint}: cannot listen: {ex.Message}", ex);
        }
        LogListening(logger, endPoint);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var stop = stoppingToken.Register(_listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            await AnswerAsync(context, stoppingToken);
        }
    }

    private async Task AnswerAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        using var response = context.Response;
        try
        {
            switch (context.Request.HttpMethod, context.Request.Url?.AbsolutePath)
            {
                case ("GET", "/metrics"):
                    response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    await metrics.Registry.CollectAndExportAsTextAsync(response.OutputStream, cancellationToken);
                    break;
                case ("GET", "/healthz"):
                    var alive = liveness.IsAlive(out var since);
                    response.StatusCode = alive ? 200 : 503;
                    response.ContentType = "text/plain";
                    var text = alive ? "ok\n" : $"unhealthy: no answer from the plan server and no retry for {since:c}\n";
                    await response.OutputStream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), cancellationToken);
                    break;
                default:
                    response.StatusCode = 404;
                    break;
            }
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException)
        {
            LogAnswerFailed(logger, ex.Message);
        }
    }

    public override void Dispose()
    {
        _listener.Close();
        base.Dispose();
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Serving /metrics and /healthz on http://{EndPoint}")]
    private static partial void LogListening(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Debug, Message = "A metrics request ended early: {Reason}")]
    private static partial void LogAnswerFailed(ILogger logger, string reason);
}
