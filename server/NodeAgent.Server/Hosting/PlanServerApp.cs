using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using NodeAgent.Server.Metrics;

namespace NodeAgent.Server.Hosting;

/// <summary>Builds the plan server's web application; used by Program and by in-process tests.</summary>
internal static class PlanServerApp
{
    /// <param name="time">The clock; tests pass a fake one. Default: the system clock.</param>
    public static WebApplication Build(PlanServerOptions options, string[] args, TimeProvider? time = null)
    {
        PrepareDataDir(options.DataDir);

        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Host.UseSystemd();
        // Every agent long-polls: per-request lines from the framework would be most of the log and
        // most of the work of answering a poll. The server's own events stay at Information.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        var clock = time ?? TimeProvider.System;
        var certificate = options.Plaintext ? null : LoadCertificate(options, clock);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(options.ListenEndPoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
            if (options.MetricsEndPoint is { } metrics)
            {
                kestrel.Listen(metrics, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(clock);
        builder.Services.AddNodeAgentGrpc();
        builder.Services.AddPlanStore(options);
        builder.Services.AddTokenSecurity(options);
        builder.Services.AddClustersAndPlans();
        builder.Services.AddOperations(options.Timeouts);
        builder.Services.AddServerMetrics();

        var app = builder.Build();
        // Create (or check) the admin token and the store now, so a bad data dir stops the
        // server at start with a clear message instead of failing the first call.
        _ = app.Services.GetRequiredService<Security.AdminToken>();
        _ = app.Services.GetRequiredService<Store.IPlanStore>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapNodeAgentApis();
        if (options.MetricsEndPoint is { } endPoint)
        {
            app.MapMetricsAndHealth(endPoint.Port);
        }
        return app;
    }

    private static X509Certificate2 LoadCertificate(PlanServerOptions options, TimeProvider time)
        => options.TlsCertFile.Length > 0
            ? X509Certificate2.CreateFromPemFile(options.TlsCertFile, options.TlsKeyFile)
            : Security.ServerTls.LoadOrCreate(options.DataDir, Security.ServerTls.DefaultNames(options.ListenEndPoint, options.TlsSans), time);

    private static void PrepareDataDir(string dataDir)
    {
        Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
