using NodeAgent.Server.Hosting;

return await ServerCommandLine.Create().Parse(args).InvokeAsync();
