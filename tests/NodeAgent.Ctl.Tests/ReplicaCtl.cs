using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Ctl.Tests;

/// <summary>Runs the real nodeagentctl with the live server's token and CA and the given addresses.</summary>
internal static class ReplicaCtl
{
    /// <summary>A server's address as nodeagentctl prints it.</summary>
    public static string Url(PlanServerProcess server) => server.Address.GetLeftPart(UriPartial.Authority);

    public static Task<CommandResult> RunAsync(PlanServerProcess credentials, string servers, params string[] args)
        => CommandRunner.RunAsync(RepoPaths.Executable("nodeagentctl"), args, new Dictionary<string, string?>
        {
            ["NODEAGENT_SERVER"] = servers,
            ["NODEAGENT_TOKEN"] = credentials.AdminToken,
            ["NODEAGENT_CA_FILE"] = credentials.CaFile,
            ["HOME"] = Path.GetTempPath(),
        }, timeout: TestTimeouts.Slow);
}
