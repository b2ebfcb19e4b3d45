using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace NodeAgent.Server.Hosting;

/// <summary>Builds the plan server's web application; used by Program and by in-process tests.</summary>
internal static class PlanServerApp
{
    public static WebApplication Build(PlanServerOptions options, string[] args)
    {
        PrepareDataDir(options.DataDir);

        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Host.UseSystemd();
        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(options.ListenEndPoint, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddGrpc();
        builder.Services.AddGrpcReflection();
        // The gRPC health service answers from the registered checks at request time (no cache,
        // so it is SERVING from the first request on, not after the publisher's first delay).
        builder.Services.AddGrpcHealthChecks(o => o.UseHealthChecksCache = false)
            .AddCheck("plan-server", () => HealthCheckResult.Healthy());

        var app = builder.Build();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    private static void PrepareDataDir(string dataDir)
    {
        Directory.CreateDirectory(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }
}
