using System.CommandLine;
using NodeAgent.Agent.Cli;
using NodeAgent.Agent.Hosting;

// SIGTERM cancels the command's token; System.CommandLine then ends the process itself (exit 143)
// after ProcessTerminationTimeout. Its default, 2 s, would cut short `run`'s stop, which lets the
// step in hand end first (for up to AgentHost.StopBound): so it waits longer than that.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = AgentHost.StopBound + TimeSpan.FromSeconds(15) };
return await AgentCommandLine.Create().Parse(args).InvokeAsync(invocation);
