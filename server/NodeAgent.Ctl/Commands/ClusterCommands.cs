using System.Collections;
using System.CommandLine;
using NodeAgent.Contracts.V1;
using NodeAgent.Ctl.Connection;
using NodeAgent.Ctl.Output;

namespace NodeAgent.Ctl.Commands;

/// <summary><c>cluster create | get | ls | set-snapshot-config</c> and <c>node ls</c>.</summary>
internal static class ClusterCommands
{
    private static readonly (string, Func<Cluster, string>)[] Columns =
    [
        ("NAME", c => c.Name),
        ("RUNTIME", c => c.Runtime.Name() ?? "?"),
        ("KUBERNETES", c => c.KubernetesVersion),
        ("NODES", c => c.NodeCount.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("SCHEDULE", c => c.SnapshotSettings.RecurringEnabled ? c.SnapshotSettings.Cron : "off"),
        ("RETENTION", c => c.SnapshotSettings.Retention.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("TARGET", c => c.SnapshotSettings.S3 is { } s3 ? $"local + s3://{s3.Bucket}/{s3.Folder}".TrimEnd('/') : "local"),
    ];

    public static Command Create(CtlContext ctx)
    {
        var cluster = new Command("cluster", "Clusters: create, show, list, change snapshot settings.");
        cluster.Add(CreateCommand(ctx));
        cluster.Add(GetCommand(ctx));
        cluster.Add(ListCommand(ctx));
        cluster.Add(SetSnapshotConfigCommand(ctx));
        return cluster;
    }

    public static Command NodeCommand(CtlContext ctx)
    {
        var clusterName = new Option<string>("--cluster") { Description = "The cluster.", Required = true };
        var output = CtlContext.OutputOption();
        var ls = new Command("ls", "List a cluster's nodes: roles, init node, plan applied, liveness (connected now, last seen, UNREACHABLE), etcd member, advertised address, runtime version, probe health.") { clusterName, output };
        ls.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var nodes = await server.Clusters.ListNodesAsync(new ListNodesRequest { Cluster = parse.GetValue(clusterName)! }, deadline: ServerConnection.Deadline, cancellationToken: ct);
            ctx.Printer.List(nodes.Nodes, CtlContext.Format(parse, output),
            [
                ("NAME", n => n.Name),
                ("ROLES", n => string.Join(',', n.Roles.Select(r => r.ToString().ToLowerInvariant()))),
                ("INIT", n => n.InitNode ? "yes" : ""),
                ("PLAN", n => n.AppliedChecksum == n.DesiredChecksum ? "applied" : n.AppliedChecksum.Length == 0 ? "applying" : "pending"),
                ("CONNECTED", n => n.Connected ? "yes" : n.Unreachable ? "UNREACHABLE" : "no"),
                ("LAST SEEN", n => Printer.Time(n.LastSeen)),
                ("MEMBER", n => n.EtcdPeerUrls.Count == 0 ? n.EtcdMemberName : $"{n.EtcdMemberName}={string.Join(',', n.EtcdPeerUrls)}"),
                ("ADDRESS", n => n.AdvertiseAddress),
                ("VERSION", n => n.RuntimeVersion),
                ("AGENT", n => n.AgentVersion),
                ("HEALTH", NodeView.Health),
                ("REPORT ERROR", n => n.LastReportError),
            ]);
            if (NodeView.RuntimeSnapshotsWarning(nodes.Nodes) is { } warning)
            {
                await ctx.Error.WriteLineAsync(warning);
            }
            return 0;
        }));
        var node = new Command("node", "Nodes of a cluster.") { ls, NodeResetCommand.Create(ctx), NodeRemoveCommand.Create(ctx) };
        return node;
    }

    private static Command CreateCommand(CtlContext ctx)
    {
        var name = new Argument<string>("name") { Description = "Cluster name (a DNS label)." };
        var runtime = new Option<string>("--runtime") { Description = "k3s, rke2 or etcd.", Required = true }.AcceptOnlyFromAmong("k3s", "rke2", "etcd");
        var version = new Option<string>("--kubernetes-version") { Description = "Desired Kubernetes version, e.g. v1.30.4+k3s1." };
        var configFile = new Option<string>("--cluster-configuration-file") { Description = "File with the cluster configuration (JSON or YAML), restored by --restore-mode all." };
        var output = CtlContext.OutputOption();
        var settings = new SnapshotSettingsOptions();
        var command = new Command("create", "Create a cluster. -o json|yaml includes its bootstrap token, for registering agents.") { name, runtime, version, configFile, output };
        settings.AddTo(command);
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var request = new CreateClusterRequest
            {
                Name = parse.GetValue(name)!,
                Runtime = RuntimeNames.Parse(parse.GetValue(runtime)!),
                KubernetesVersion = parse.GetValue(version) ?? "",
                ClusterConfiguration = ReadConfiguration(parse.GetValue(configFile)),
                SnapshotSettings = settings.Apply(parse, null, Environment()),
            };
            var created = await server.Clusters.CreateClusterAsync(request, deadline: ServerConnection.Deadline, cancellationToken: ct);
            Print(ctx, parse, output, new GetClusterResponse { Cluster = created.Cluster, BootstrapToken = created.BootstrapToken });
            return 0;
        }));
        return command;
    }

    private static Command GetCommand(CtlContext ctx)
    {
        var name = new Argument<string>("name") { Description = "Cluster name." };
        var output = CtlContext.OutputOption();
        var command = new Command("get", "Show a cluster. -o json|yaml includes its bootstrap token.") { name, output };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var got = await server.Clusters.GetClusterAsync(new GetClusterRequest { Name = parse.GetValue(name)!, IncludeBootstrapToken = true },
                deadline: ServerConnection.Deadline, cancellationToken: ct);
            Print(ctx, parse, output, got);
            return 0;
        }));
        return command;
    }

    private static Command ListCommand(CtlContext ctx)
    {
        var output = CtlContext.OutputOption();
        var command = new Command("ls", "List clusters.") { output };
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var list = await server.Clusters.ListClustersAsync(new ListClustersRequest(), deadline: ServerConnection.Deadline, cancellationToken: ct);
            ctx.Printer.List(list.Clusters, CtlContext.Format(parse, output), Columns);
            return 0;
        }));
        return command;
    }

    private static Command SetSnapshotConfigCommand(CtlContext ctx)
    {
        var name = new Argument<string>("name") { Description = "Cluster name." };
        var output = CtlContext.OutputOption();
        var settings = new SnapshotSettingsOptions();
        var command = new Command("set-snapshot-config", "Change a cluster's snapshot settings; flags not given keep their value. Every node's plan follows.") { name, output };
        settings.AddTo(command);
        command.SetAction((parse, ct) => ctx.RunAsync(parse, async server =>
        {
            var current = await server.Clusters.GetClusterAsync(new GetClusterRequest { Name = parse.GetValue(name)! }, deadline: ServerConnection.Deadline, cancellationToken: ct);
            var updated = await server.Clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest
            {
                Cluster = current.Cluster.Name,
                SnapshotSettings = settings.Apply(parse, current.Cluster.SnapshotSettings, Environment()),
            }, deadline: ServerConnection.Deadline, cancellationToken: ct);
            Print(ctx, parse, output, new GetClusterResponse { Cluster = updated.Cluster });
            return 0;
        }));
        return command;
    }

    private static void Print(CtlContext ctx, ParseResult parse, Option<string> output, GetClusterResponse response)
    {
        var format = CtlContext.Format(parse, output);
        if (format != OutputFormat.Table)
        {
            ctx.Printer.One(response, format, []);
            return;
        }
        ctx.Printer.One(response.Cluster, format, Columns);
        if (response.S3Listing is { } s3Listing)
        {
            ctx.Out.WriteLine($"{"S3 LISTING:",-22}{S3ListingView.Describe(s3Listing)}");
        }
        if (response.BootstrapToken.Length > 0)
        {
            ctx.Out.WriteLine("(the bootstrap token is shown by -o json or -o yaml)");
        }
    }

    private static string ReadConfiguration(string? path)
        => path is null ? "" : File.Exists(path) ? File.ReadAllText(path) : throw new CtlException($"--cluster-configuration-file {path} does not exist");

    private static Dictionary<string, string> Environment()
        => System.Environment.GetEnvironmentVariables().Cast<DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
}
