using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using NodeAgent.Server.Metrics;

namespace NodeAgent.Server.Hosting;

/// <summary>Builds the plan server's web application; used by Program and by in-process tests.</summary>
internal static partial class PlanServerApp
{
    /// <summary>
    /// How long a stop (SIGTERM) waits for the calls in hand (a step report being stored, a restore
    /// being started) before cutting them: the host's shutdown timeout. Plan long-polls and
    /// operation watches are answered at once. The unit's TimeoutStopSec (60 s) leaves 15 s more.
    /// </summary>
    public static readonly TimeSpan StopBound = TimeSpan.FromSeconds(45);

    /// <summary>
    /// How long a TLS handshake may wait to be served. When every agent connects at once (a
    /// restart), the handshakes queue for the CPU: 10,000 of them on 2 cores took longer than
    /// Kestrel's default 10 s, and it cut 2,242 (issue 17's benchmark), each to be retried and paid
    /// for again. A minute lets the queue drain; it still ends a handshake that never comes.
    /// </summary>
    public static readonly TimeSpan TlsHandshakeTimeout = TimeSpan.FromMinutes(1);

    /// <param name="time">The clock; tests pass a fake one. Default: the system clock.</param>
    /// <exception cref="Errors.StartupRefusedException">The data dir is in use, or its state is lost, damaged or locked.</exception>
    public static WebApplication Build(PlanServerOptions options, string[] args, TimeProvider? time = null)
    {
        PrepareDataDir(options.DataDir);
        var dataDirLock = DataDirLock.Acquire(options.DataDir);
        try
        {
            return Build(options, args, time ?? TimeProvider.System, dataDirLock);
        }
        catch
        {
            dataDirLock.Dispose();
            throw;
        }
    }

    private static WebApplication Build(PlanServerOptions options, string[] args, TimeProvider clock, DataDirLock dataDirLock)
    {
        Store.SqliteDatabase? database = null;
        Store.Etcd.EtcdConnection? etcd = null;
        if (options.EtcdStore is { } etcdOptions)
        {
            etcd = new Store.Etcd.EtcdConnection(etcdOptions);
            ReplicaFiles.Share(etcd, new Store.Etcd.EtcdKeys(etcdOptions.Prefix), options, clock);
        }
        else
        {
            // The database first, while the data dir still shows whether a server lived here: a lost
            // database beside an admin token must stop the server, not become a silent fresh start.
            database = new Store.SqliteDatabase(Path.Combine(options.DataDir, ServerFeatures.DatabaseFileName), DataDirHistory.Evidence(options.DataDir));
        }
        var adminToken = Security.AdminToken.LoadOrCreate(options.DataDir);

        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Host.UseSystemd();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = StopBound);
        // Every agent long-polls: per-request lines from the framework would be most of the log and
        // most of the work of answering a poll. The server's own events stay at Information.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Logging.AddFilter("Grpc", LogLevel.Warning);
        var certificate = options.Plaintext ? null : LoadCertificate(options, clock);
        // Each connected agent holds a TLS connection open: what it costs while idle is most of the
        // server's memory (issue 17). See NativeHeap and OpenSslIdleBuffers for the numbers.
        var mapsLargeBlocks = NativeHeap.MapLargeBlocks();
        var releasesTlsBuffers = certificate is not null && Security.OpenSslIdleBuffers.IsAvailable;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(options.ListenEndPoint, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (certificate is not null)
                {
                    listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate, HandshakeTimeout = TlsHandshakeTimeout });
                    if (releasesTlsBuffers)
                    {
                        Security.OpenSslIdleBuffers.Apply(listen);
                    }
                }
            });
            if (options.MetricsEndPoint is { } metrics)
            {
                kestrel.Listen(metrics, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });
        builder.Services.AddSingleton(options);
        // Registered through a factory so the container disposes it (releasing the lock) with the app.
        builder.Services.AddSingleton(_ => dataDirLock);
        builder.Services.AddSingleton(clock);
        builder.Services.AddNodeAgentGrpc();
        if (etcd is not null)
        {
            builder.Services.AddEtcdStore(etcd);
        }
        else
        {
            builder.Services.AddPlanStore(database!);
        }
        builder.Services.AddTokenSecurity(adminToken);
        builder.Services.AddClustersAndPlans(options.NodeUnreachableAfter);
        builder.Services.AddOperations(options.Timeouts);
        builder.Services.AddServerMetrics();
        builder.Services.AddS3Listings();

        var app = builder.Build();
        _ = app.Services.GetRequiredService<DataDirLock>();
        if (!mapsLargeBlocks)
        {
            LogNativeHeapDefault(app.Logger);
        }
        if (certificate is not null && !releasesTlsBuffers)
        {
            LogTlsBuffersKept(app.Logger);
        }
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
