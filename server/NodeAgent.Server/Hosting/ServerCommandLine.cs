using System.CommandLine;

namespace NodeAgent.Server.Hosting;

/// <summary>plan-server's command line: <c>plan-server --data-dir DIR --listen HOST:PORT</c>.</summary>
internal static class ServerCommandLine
{
    public static RootCommand Create()
    {
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "Directory for the server's state (created with mode 0700 if missing).",
            DefaultValueFactory = _ => PlanServerOptions.DefaultDataDir,
        };
        var listen = new Option<string>("--listen")
        {
            Description = "Address to serve gRPC (HTTP/2 over TLS) on, as IP:PORT.",
            DefaultValueFactory = _ => PlanServerOptions.DefaultListen,
        };
        var metricsListen = new Option<string>("--metrics-listen")
        {
            Description = "Address to serve Prometheus /metrics and /healthz on (plain HTTP/1.1, no authentication), as IP:PORT, or 'none'.",
            DefaultValueFactory = _ => PlanServerOptions.DefaultMetricsListen,
        };
        var plaintext = new Option<bool>("--plaintext")
        {
            Description = "Serve HTTP/2 without TLS (loopback addresses only; for local tests).",
        };
        var tlsSan = new Option<string[]>("--tls-san")
        {
            Description = "Extra DNS name or IP address for the server's own certificate (repeatable).",
            AllowMultipleArgumentsPerToken = false,
        };
        var tlsCert = new Option<string>("--tls-cert-file")
        {
            Description = "Serving certificate (PEM) to use instead of the server's own CA under DATA_DIR/tls.",
        };
        var tlsKey = new Option<string>("--tls-key-file")
        {
            Description = "Private key (PEM) of --tls-cert-file.",
        };
        var unreachableAfter = new Option<string>("--node-unreachable-after")
        {
            Description = "A node whose agent is not connected and was not seen for this long is unreachable: node ls says so, a restore is refused and a one-time snapshot skips it (e.g. 90s, 3m, 1h; three of the agents' default 60s polls).",
            DefaultValueFactory = _ => "3m",
        };
        var s3ListInterval = new Option<string>("--s3-list-interval")
        {
            Description = "How often the server lists every cluster's S3 folder itself for the snapshot catalog (also at start and when a cluster's snapshot settings change), e.g. 30s, 10m, 1h.",
            DefaultValueFactory = _ => PlanServerOptions.DefaultS3ListInterval,
        };
        var store = new StoreCommandLine();
        var root = new RootCommand(
            "plan-server: the NodeAgent plan server. Serves nodeagent.v1.ClusterService, SnapshotService and OperationService (operators: "
            + "bearer token from DATA_DIR/admin-token, created 0600 on first start) and nodeagent.v1.AgentService "
            + "(agents: register with a cluster's bootstrap token, long-poll their plan, report status), "
            + "plus gRPC health and server reflection, over TLS with the server's own CA (DATA_DIR/tls/ca.crt: "
            + "clients pin it). Prometheus /metrics and /healthz are on --metrics-listen (plain HTTP). State is kept in DATA_DIR/plan-server.db (SQLite), "
            + "or with --store etcd in etcd, where replicas share it (and the admin token and CA, which the first replica puts there).")
        {
            dataDir,
            listen,
            metricsListen,
            plaintext,
            tlsSan,
            tlsCert,
            tlsKey,
            unreachableAfter,
            s3ListInterval,
        };
        store.AddTo(root);
        root.SetAction(async (parse, ct) =>
        {
            var options = new PlanServerOptions
            {
                DataDir = parse.GetValue(dataDir)!,
                Listen = parse.GetValue(listen)!,
                MetricsListen = parse.GetValue(metricsListen)!,
                Plaintext = parse.GetValue(plaintext),
                TlsSans = parse.GetValue(tlsSan) ?? [],
                TlsCertFile = parse.GetValue(tlsCert) ?? "",
                TlsKeyFile = parse.GetValue(tlsKey) ?? "",
            };
            var unreachableText = parse.GetValue(unreachableAfter)!;
            if (!PlanServerOptions.TryParseInterval(unreachableText, out var unreachable) || unreachable <= TimeSpan.Zero)
            {
                await Console.Error.WriteLineAsync($"plan-server: --node-unreachable-after '{unreachableText}' is not a duration such as 90s, 3m or 1h");
                return 2;
            }
            options.NodeUnreachableAfter = unreachable;
            if (!PlanServerOptions.TryParseInterval(parse.GetValue(s3ListInterval)!, out var interval))
            {
                await Console.Error.WriteLineAsync($"plan-server: --s3-list-interval '{parse.GetValue(s3ListInterval)}' is not a duration like 30s, 10m or 1h30m");
                return 2;
            }
            options.S3ListInterval = interval;
            if (!store.TryParse(parse, out var etcdStore, out var storeError))
            {
                await Console.Error.WriteLineAsync($"plan-server: {storeError}");
                return 2;
            }
            options.EtcdStore = etcdStore;
            if (!options.TryValidate(out var error))
            {
                await Console.Error.WriteLineAsync($"plan-server: {error}");
                return 2;
            }
            WebApplication app;
            try
            {
                app = PlanServerApp.Build(options, []);
            }
            catch (Errors.StartupRefusedException ex)
            {
                await Console.Error.WriteLineAsync($"plan-server: {ex.Message}");
                return 1;
            }
            await using (app)
            {
                await app.RunAsync(ct);
            }
            return 0;
        });
        return root;
    }
}
