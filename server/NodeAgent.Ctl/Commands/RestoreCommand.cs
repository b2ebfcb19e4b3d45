using System.CommandLine;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;
using NodeAgent.Ctl.Output;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>restore &lt;snapshot&gt; --cluster C --restore-mode none|kubernetesVersion|all [--allow-other-cluster] [--wait] [--yes]</c>.</summary>
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
        var otherCluster = new Option<bool>("--allow-other-cluster")
        {
            Description = "Restore a snapshot whose metadata names another cluster (refused without it); the confirmation names that cluster.",
        };
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation." };
        var wait = new Option<bool>("--wait") { Description = "Follow the restore until it ends; the exit code says whether it finished." };
        var command = new Command("restore",
            "Restore a cluster's etcd from a snapshot: checks (sha256, etcd trailer, disk, token, version) first, then Shutdown, Restore, RestartCluster.")
        {
            name, cluster, mode, noSafety, otherCluster, yes, wait,
        };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var snapshot = parse.GetValue(name)!;
            var clusterName = parse.GetValue(cluster)!;
            var allowOther = parse.GetValue(otherCluster);
            var from = allowOther ? await OtherClusterAsync(server, clusterName, snapshot, ct) : null;
            var source = from is null ? snapshot : $"{snapshot}, a snapshot of another cluster, {from}";
            if (!Confirmation.Ask($"Stop every node of cluster {clusterName} and restore its etcd from {source}? Writes made since that snapshot are lost.",
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
                AllowOtherCluster = allowOther,
            }, deadline: ServerConnection.Deadline, cancellationToken: ct)).Operation;
            ctx.Out.WriteLine($"started {OperationView.Headline(op)} (init node {op.InitNode}{(op.InitNodeReason.Length > 0 ? ": " + op.InitNodeReason : "")})");
            return parse.GetValue(wait) ? await new OperationWatcher(ctx.Out, !Console.IsOutputRedirected).WatchAsync(server.Operations, op.Id, ct) : 0;
        }));
        return command;
    }

    /// <summary>The other cluster the snapshot belongs to, as the catalog says; null when it is this cluster's.</summary>
    private static async Task<string?> OtherClusterAsync(ServerConnection server, string cluster, string snapshot, CancellationToken ct)
    {
        var list = await server.Snapshots.ListSnapshotsAsync(new ListSnapshotsRequest { Cluster = cluster },
            deadline: ServerConnection.Deadline, cancellationToken: ct);
        return list.Snapshots.FirstOrDefault(s => s.Name == snapshot && s.Cluster.Length > 0 && s.Cluster != cluster)?.Cluster;
    }
}
