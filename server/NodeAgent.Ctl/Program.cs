using System.CommandLine;

var root = new RootCommand(
    "nodeagentctl: the operator CLI for the NodeAgent plan server. "
    + "Commands are added as the server's operator API is built; see the README for what exists.");
return await root.Parse(args).InvokeAsync();
