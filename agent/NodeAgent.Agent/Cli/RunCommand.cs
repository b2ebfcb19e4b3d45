using System.Collections;
using System.CommandLine;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Hosting;

namespace NodeAgent.Agent.Cli;

/// <summary><c>node-agent run</c>: the daemon (the systemd service's ExecStart).</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config")
        {
            Description = $"Config file (YAML, mode 0600; keys are this command's long flag names). Default: {AgentOptions.DefaultConfigPath} if it exists.",
        };
        var command = new Command("run", "Run the agent: register with the plan server, follow this node's plan, report back. "
            + "Settings come from the config file, then NODEAGENT_<KEY> environment variables, then flags.")
        {
            config,
        };
        var flags = new List<(string Key, Option<string> Option)>();
        foreach (var (key, help, _, secret) in AgentConfigKeys.All.Where(k => !k.Secret))
        {
            var option = new Option<string>("--" + key) { Description = help };
            flags.Add((key, option));
            command.Add(option);
        }
        command.SetAction(async (parse, ct) =>
        {
            var given = flags.Where(f => parse.GetResult(f.Option) is { Implicit: false })
                .ToDictionary(f => f.Key, f => parse.GetValue(f.Option) ?? "", StringComparer.Ordinal);
            var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
                .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
            AgentOptions options;
            try
            {
                options = AgentConfigLoader.Load(parse.GetValue(config), given, environment);
            }
            catch (ConfigException ex)
            {
                await Console.Error.WriteLineAsync($"node-agent: {ex.Message}");
                return 2;
            }
            using var host = AgentHost.Build(options, environment);
            await host.RunAsync(ct);
            return Environment.ExitCode;
        });
        return command;
    }
}
