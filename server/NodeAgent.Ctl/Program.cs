using NodeAgent.Ctl.Commands;

return await CtlCommandLine.Create().Parse(args).InvokeAsync();
