using System.CommandLine;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;
using NodeAgent.Ctl.Output;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>restore &lt;snapshot&gt; --cluster C --restore-mode none|kubernetesVersion|all [--wait] [--yes]</c>.</summary>
internal static class RestoreCommand
{
    public static Command Create(CtlContext ctx)
    {
        var name = new Argument<string>("snapshot") { Description = "Snapshot file name from `snapshot ls` (no paths)." };
        var cluster = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var mode = new Option<string>("--restore-mode")
        {
            Description = "none: etcd only; kubernetesVersion: also the snapshot's Kubernetes version; all: also its cluster configuration.",
            DefaultValueFactory = _ => "none",
        }.AcceptOnlyFromAmong("none", "kubernetesVersion", "all");
        var noSafety = new Option<bool>("--no-safety-snapshot") { Description = "Skip the snapshot taken before anything is stopped (taken by default; skipped anyway when etcd is down)." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation." };
        var wait = new Option<bool>("--wait") { Description = "Follow the restore until it ends; the exit code says whether it finished." };
        var command = new Command("restore",
            "Restore a cluster's etcd from a snapshot: checks (sha256, etcd trailer, disk, token, version) first, then Shutdown, Restore, RestartCluster.")
        {
            name, cluster, mode, noSafety, yes, wait,
        };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var snapshot = parse.GetValue(name)!;
            var clusterName = parse.GetValue(cluster)!;
            if (!Confirmation.Ask($"Stop every node of cluster {clusterName} and restore its etcd from {snapshot}? Writes made since that snapshot are lost.",
                parse.GetValue(yes), Console.In, ctx.Error, !Console.IsInputRedirected))
            {
                return 1;
            }
            var op = (await server.Snapshots.RestoreSnapshotAsync(new RestoreSnapshotRequest
            {
                Cluster = clusterName,
                Snapshot = snapshot,
                RestoreMode = parse.GetValue(mode) switch
                {
                    "kubernetesVersion" => RestoreMode.KubernetesVersion,
                    "all" => RestoreMode.All,
                    _ => RestoreMode.None,
                },
                SafetySnapshot = !parse.GetValue(noSafety),
            }, deadline: ServerConnection.Deadline, cancellationToken: ct)).Operation;
            ctx.Out.WriteLine($"started {OperationView.Headline(op)} (init node {op.InitNode})");
            return parse.GetValue(wait) ? await new OperationWatcher(ctx.Out, !Console.IsOutputRedirected).WatchAsync(server.Operations, op.Id, ct) : 0;
        }));
        return command;
    }
}
