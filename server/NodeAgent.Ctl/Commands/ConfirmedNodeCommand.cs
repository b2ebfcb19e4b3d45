using System.CommandLine;
using NodeAgent.Ctl.Connection;

namespace NodeAgent.Ctl.Commands;

/// <summary>
/// The shape of <c>node reset</c> and <c>node rm</c>: <c>NAME --cluster C [--yes]</c>, a confirmation
/// that says what is lost, one call to the server, one line that says what was done.
/// </summary>
internal static class ConfirmedNodeCommand
{
    public static Command Create(
        CtlContext ctx, string verb, string description, string nameDescription,
        Func<string, string, string> question, Func<ServerConnection, string, string, CancellationToken, Task> call, Func<string, string, string> done)
    {
        var name = new Argument<string>("name") { Description = nameDescription };
        var cluster = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation." };
        var command = new Command(verb, description) { name, cluster, yes };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var node = parse.GetValue(name)!;
            var clusterName = parse.GetValue(cluster)!;
            if (!Confirmation.Ask(question(node, clusterName), parse.GetValue(yes), Console.In, ctx.Error, !Console.IsInputRedirected))
            {
                return 1;
            }
            await call(server, clusterName, node, ct);
            ctx.Out.WriteLine(done(node, clusterName));
            return 0;
        }));
        return command;
    }
}
