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
            Description = "Address to serve gRPC on, as HOST:PORT (HTTP/2 without TLS for now; use loopback).",
            DefaultValueFactory = _ => PlanServerOptions.DefaultListen,
        };
        var root = new RootCommand(
            "plan-server: the NodeAgent plan server. Serves nodeagent.v1.ClusterService (operators: "
            + "bearer token from DATA_DIR/admin-token, created 0600 on first start) and nodeagent.v1.AgentService "
            + "(agents: register with a cluster's bootstrap token, long-poll their plan, report status), "
            + "plus gRPC health and server reflection. State is kept in DATA_DIR/plan-server.db (SQLite).")
        {
            dataDir,
            listen,
        };
        root.SetAction(async (parse, ct) =>
        {
            var options = new PlanServerOptions
            {
                DataDir = parse.GetValue(dataDir)!,
                Listen = parse.GetValue(listen)!,
            };
            if (!options.TryValidate(out var error))
            {
                await Console.Error.WriteLineAsync($"plan-server: {error}");
                return 2;
            }
            await using var app = PlanServerApp.Build(options, []);
            await app.RunAsync(ct);
            return 0;
        });
        return root;
    }
}
