using System.Collections;
using System.CommandLine;
using Grpc.Core;
using NodeAgent.Ctl.Connection;
using NodeAgent.Ctl.Output;

namespace NodeAgent.Ctl.Commands;

/// <summary>The options every command shares, and the one place errors become exit codes.</summary>
internal sealed class CtlContext
{
    public Option<string> Server { get; } = new("--server")
    {
        Description = "Plan server URL, or its replicas' URLs comma-separated (one scheme): a read moves to the next when one is down or hung, "
            + "a change only when it cannot have reached it. Or NODEAGENT_SERVER, or 'server:' (a URL or a list) in ~/.config/nodeagent/config.yaml.",
        Recursive = true,
    };

    public Option<string> Token { get; } = new("--token") { Description = "Admin token (prefer NODEAGENT_TOKEN or the config file: argv is visible to other users).", Recursive = true };

    public Option<string> CaFile { get; } = new("--ca-file") { Description = "The plan server's CA (its DATA_DIR/tls/ca.crt), or NODEAGENT_CA_FILE.", Recursive = true };

    public TextWriter Out { get; init; } = Console.Out;

    public TextWriter Error { get; init; } = Console.Error;

    public static Option<string> OutputOption() => new Option<string>("--output", "-o")
    {
        Description = "Output format: table, json or yaml.",
        DefaultValueFactory = _ => "table",
    }.AcceptOnlyFromAmong("table", "json", "yaml");

    public static OutputFormat Format(ParseResult parse, Option<string> option) => parse.GetValue(option) switch
    {
        "json" => OutputFormat.Json,
        "yaml" => OutputFormat.Yaml,
        _ => OutputFormat.Table,
    };

    public Printer Printer => new(Out);

    /// <summary>Connects, runs <paramref name="action"/>, and turns failures into one clear line and an exit code.</summary>
    public async Task<int> RunAsync(ParseResult parse, Func<ServerConnection, Task<int>> action)
    {
        try
        {
            var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
                .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
            var settings = CtlSettings.Resolve(parse.GetValue(Server), parse.GetValue(Token), parse.GetValue(CaFile), environment, CtlSettings.DefaultConfigPath);
            using var connection = new ServerConnection(settings, Error);
            return await action(connection);
        }
        catch (CtlException ex)
        {
            await Error.WriteLineAsync($"nodeagentctl: {ex.Message}");
            return 2;
        }
        catch (RpcException ex)
        {
            await Error.WriteLineAsync($"nodeagentctl: {Describe(ex)}");
            return 1;
        }
    }

    internal static string Describe(RpcException ex) => ex.StatusCode switch
    {
        // A detail on a deadline is ReplicaCallInvoker's: the change was not sent to another replica.
        StatusCode.DeadlineExceeded when ex.Status.Detail.Length > 0 => $"the plan server did not answer within {ServerConnection.CallTimeout.TotalSeconds:0}s; {ex.Status.Detail}",
        StatusCode.DeadlineExceeded => $"the plan server did not answer within {ServerConnection.CallTimeout.TotalSeconds:0}s; it may be overloaded or stopped (retry, or check it with 'systemctl status plan-server')",
        StatusCode.Unavailable => $"cannot reach the plan server: {ex.Status.Detail}",
        StatusCode.Unauthenticated => "the plan server did not accept the token (use the server's DATA_DIR/admin-token)",
        StatusCode.PermissionDenied => $"permission denied: {ex.Status.Detail}",
        _ => $"{ex.StatusCode}: {ex.Status.Detail}",
    };
}
