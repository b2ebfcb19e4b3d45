using System.CommandLine;
using System.Globalization;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;
using NodeAgent.Ctl.Output;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>snapshot save | ls | delete</c>.</summary>
internal static class SnapshotCommands
{
    public static Command Create(CtlContext ctx)
    {
        var snapshot = new Command("snapshot", "One-time snapshots and the snapshot catalog.");
        snapshot.Add(SaveCommand(ctx));
        snapshot.Add(ListCommand(ctx));
        snapshot.Add(DeleteCommand(ctx));
        return snapshot;
    }

    private static Command SaveCommand(CtlContext ctx)
    {
        var cluster = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var name = new Option<string>("--name") { Description = "Name prefix (default on-demand)." };
        var compress = new Option<bool?>("--compress") { Description = "Zip the snapshots (default: the cluster's setting)." };
        var wait = new Option<bool>("--wait") { Description = "Follow the operation until it ends; the exit code says whether it finished." };
        var command = new Command("save", "Take a one-time snapshot on every etcd node of a cluster.") { cluster, name, compress, wait };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var request = new CreateSnapshotRequest { Cluster = parse.GetValue(cluster)!, Name = parse.GetValue(name) ?? "" };
            if (parse.GetValue(compress) is { } c)
            {
                request.Compress = c;
            }
            var op = (await server.Snapshots.CreateSnapshotAsync(request, deadline: ServerConnection.Deadline, cancellationToken: ct)).Operation;
            ctx.Out.WriteLine($"started {OperationView.Headline(op)}");
            return parse.GetValue(wait) ? await new OperationWatcher(ctx.Out, !Console.IsOutputRedirected).WatchAsync(server.Operations, op.Id, ct) : 0;
        }));
        return command;
    }

    private static Command ListCommand(CtlContext ctx)
    {
        var cluster = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var node = new Option<string>("--node") { Description = "Only this node's copies." };
        var storage = new Option<string>("--storage") { Description = "Only local or s3 copies." }.AcceptOnlyFromAmong("local", "s3");
        var output = CtlContext.OutputOption();
        var command = new Command("ls", "List the cluster's snapshots (every node's local copies and S3).") { cluster, node, storage, output };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var list = await server.Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest
            {
                Cluster = parse.GetValue(cluster)!,
                Node = parse.GetValue(node) ?? "",
                Storage = parse.GetValue(storage) switch { "local" => StorageKind.Local, "s3" => StorageKind.S3, _ => StorageKind.Unspecified },
            }, deadline: ServerConnection.Deadline, cancellationToken: ct);
            ctx.Printer.List(list.Snapshots, CtlContext.Format(parse, output),
            [
                ("NAME", s => s.Name),
                ("NODE", s => s.Node),
                ("CLUSTER", s => s.Cluster),
                ("LOCATION", s => s.Location),
                ("SIZE", s => Printer.Size(s.Size)),
                ("CREATED", s => Printer.Time(s.CreatedAt)),
                ("STATUS", s => s.Status switch
                {
                    SnapshotStatus.Successful => "successful",
                    SnapshotStatus.UploadFailed => "upload failed",
                    SnapshotStatus.Failed => "failed: " + s.Message,
                    _ => "",
                }),
                ("REVISION", s => s.EtcdRevision.ToString(CultureInfo.InvariantCulture)),
            ]);
            if (S3ListingView.Warning(list.S3Listing) is { } warning)
            {
                await ctx.Error.WriteLineAsync(warning);
            }
            return 0;
        }));
        return command;
    }

    private static Command DeleteCommand(CtlContext ctx)
    {
        var cluster = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var name = new Argument<string>("snapshot") { Description = "Snapshot file name (no paths)." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation." };
        var wait = new Option<bool>("--wait") { Description = "Follow the operation until it ends." };
        var command = new Command("delete", "Delete a snapshot's copies on every node and in S3.") { name, cluster, yes, wait };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var snapshot = parse.GetValue(name)!;
            var clusterName = parse.GetValue(cluster)!;
            if (!Confirmation.Ask($"Delete every copy of snapshot {snapshot} of cluster {clusterName}?", parse.GetValue(yes), Console.In, ctx.Error, !Console.IsInputRedirected))
            {
                return 1;
            }
            var op = (await server.Snapshots.DeleteSnapshotAsync(new DeleteSnapshotRequest { Cluster = clusterName, Snapshot = snapshot },
                deadline: ServerConnection.Deadline, cancellationToken: ct)).Operation;
            ctx.Out.WriteLine($"started {OperationView.Headline(op)}");
            return parse.GetValue(wait) ? await new OperationWatcher(ctx.Out, !Console.IsOutputRedirected).WatchAsync(server.Operations, op.Id, ct) : 0;
        }));
        return command;
    }
}
