using System.CommandLine;
using NodeAgent.Server.Backup;
using NodeAgent.Server.Hosting;

// SIGTERM cancels the command's token; System.CommandLine then ends the process itself (exit 143)
// after ProcessTerminationTimeout. Its default, 2 s, would cut short the calls the server still
// holds (PlanServerApp.StopBound): so it waits longer than that, and less than the unit's 60 s.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = PlanServerApp.StopBound + TimeSpan.FromSeconds(10) };
return await BackupCommands.AddTo(ServerCommandLine.Create()).Parse(args).InvokeAsync(invocation);
