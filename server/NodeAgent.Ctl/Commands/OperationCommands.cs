using System.CommandLine;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;
using NodeAgent.Ctl.Output;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>operation get | ls | watch | cancel</c>.</summary>
internal static class OperationCommands
{
    private static readonly (string, Func<Operation, string>)[] Columns =
    [
        ("ID", o => o.Id),
        ("TYPE", o => o.Type.ToString().ToLowerInvariant()),
        ("PHASE", o => OperationView.Phase(o.Phase)),
        ("SNAPSHOT", o => o.Snapshot),
        ("CREATED", o => Printer.Time(o.CreatedAt)),
        ("FINISHED", o => Printer.Time(o.FinishedAt)),
        ("FAILURE", o => o.Failure is { } f ? $"{f.Node} {f.InstructionId}: {f.Message}".Trim() : ""),
    ];

    public static Command Create(CtlContext ctx)
    {
        var operation = new Command("operation", "Snapshot, delete and restore operations: show, follow, cancel.");
        operation.Add(GetCommand(ctx));
        operation.Add(ListCommand(ctx));
        operation.Add(WatchCommand(ctx));
        operation.Add(CancelCommand(ctx));
        return operation;
    }

    private static Command GetCommand(CtlContext ctx)
    {
        var id = new Argument<string>("id") { Description = "Operation id." };
        var output = CtlContext.OutputOption();
        var command = new Command("get", "Show an operation with each node's step.") { id, output };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var op = (await server.Operations.GetOperationAsync(new GetOperationRequest { Id = parse.GetValue(id)! }, deadline: ServerConnection.Deadline, cancellationToken: ct)).Operation;
            var format = CtlContext.Format(parse, output);
            if (format != OutputFormat.Table)
            {
                ctx.Printer.One(op, format, []);
                return 0;
            }
            ctx.Out.WriteLine(OperationView.Headline(op));
            if (OperationView.InitNodeLine(op) is { } init)
            {
                ctx.Out.WriteLine(init);
            }
            if (OperationView.RecoveringLine(op) is { } recovering)
            {
                ctx.Out.WriteLine(recovering);
            }
            foreach (var line in OperationView.NodeLines(op))
            {
                ctx.Out.WriteLine(line);
            }
            if (OperationView.FailureLine(op) is { } failure)
            {
                ctx.Out.WriteLine(failure);
            }
            return 0;
        }));
        return command;
    }

    private static Command ListCommand(CtlContext ctx)
    {
        var cluster = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var active = new Option<bool>("--active") { Description = "Only operations that have not ended." };
        var output = CtlContext.OutputOption();
        var command = new Command("ls", "List a cluster's operations, newest first.") { cluster, active, output };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var list = await server.Operations.ListOperationsAsync(new ListOperationsRequest { Cluster = parse.GetValue(cluster)!, ActiveOnly = parse.GetValue(active) },
                deadline: ServerConnection.Deadline, cancellationToken: ct);
            ctx.Printer.List(list.Operations, CtlContext.Format(parse, output), Columns);
            return 0;
        }));
        return command;
    }

    private static Command WatchCommand(CtlContext ctx)
    {
        var id = new Argument<string>("id") { Description = "Operation id." };
        var command = new Command("watch", "Follow an operation live until it ends; exit 0 when it finished, 1 when it failed or was cancelled.") { id };
        command.SetAction((parse, ct) => ctx.RunAsync(parse,
            server => new OperationWatcher(ctx.Out, !Console.IsOutputRedirected).WatchAsync(server.Operations, parse.GetValue(id)!, ct)));
        return command;
    }

    private static Command CancelCommand(CtlContext ctx)
    {
        var id = new Argument<string>("id") { Description = "Operation id." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation." };
        var command = new Command("cancel", "Cancel an operation that has not begun to restore.") { id, yes };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            if (!Confirmation.Ask($"Cancel operation {parse.GetValue(id)}?", parse.GetValue(yes), Console.In, ctx.Error, !Console.IsInputRedirected))
            {
                return 1;
            }
            var op = (await server.Operations.CancelOperationAsync(new CancelOperationRequest { Id = parse.GetValue(id)! }, deadline: ServerConnection.Deadline, cancellationToken: ct)).Operation;
            ctx.Out.WriteLine(OperationView.Headline(op));
            return 0;
        }));
        return command;
    }
}
