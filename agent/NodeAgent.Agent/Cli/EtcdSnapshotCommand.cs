using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Cli;

/// <summary>
/// <c>node-agent etcd-snapshot save | ls | delete | prune</c>: the node's snapshots without a plan
/// server, with K3s's flag names. Exit 0 on success; 2 when the request is wrong (a bad name, an
/// unknown snapshot, a missing dir); 1 when etcd or the disk failed.
/// </summary>
internal static class EtcdSnapshotCommand
{
    public static Command Create()
    {
        var common = new CommonOptions();
        var command = new Command("etcd-snapshot", "Save, list, delete and prune this node's etcd snapshots (K3s-compatible files, names and sidecars), locally and with --s3 in S3.");
        foreach (var option in common.All.Concat(common.S3.All))
        {
            option.Recursive = true;
            command.Add(option);
        }
        command.Add(Save(common));
        command.Add(List(common));
        command.Add(Delete(common));
        command.Add(Prune(common));
        return command;
    }

    private static Command Save(CommonOptions common)
    {
        var name = new Option<string>("--name") { Description = "Snapshot base name; the file is <name>-<node>-<unix seconds>.", DefaultValueFactory = _ => SnapshotNames.OnDemandPrefix };
        var compress = new Option<bool>("--snapshot-compress", "--etcd-snapshot-compress") { Description = "Zip the snapshot (<file>.zip, one Deflate entry) as K3s does." };
        var stall = new Option<string>("--etcd-snapshot-stall-timeout")
        {
            Description = "Fail the save when etcd's snapshot stream sends nothing for this long (a frozen member), e.g. 30s or 2m.",
            DefaultValueFactory = _ => "30s",
        };
        var binary = new Option<string>("--runtime-binary")
        {
            Description = "k3s/rke2: the runtime's binary, whose --version the snapshot records as its Kubernetes version (default /usr/local/bin/<runtime>).",
        };
        var command = new Command("save", "Take a snapshot of the local etcd member now (never prunes, like K3s's save).") { name, compress, stall, binary };
        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            var settings = common.Read(parse);
            var etcd = settings.Etcd with { SnapshotStallTimeout = StallTimeout(parse.GetValue(stall)!) };
            var saver = Saver(etcd);
            // K3s/RKE2: what the node really runs, as the daemon records it (restore modes act on it).
            // A runtime that is not installed here (the CLI run against another etcd) is no reason to warn.
            var record = await RuntimeRecord.CaptureAsync(settings.Runtime, NonEmpty(parse.GetValue(binary)) ?? RuntimeNaming.DefaultBinary(settings.Runtime),
                settings.Config.BasePath ?? "", new ProcessRunner(TimeProvider.System, NullLogger<ProcessRunner>.Instance), quietWhenNotInstalled: true, ct);
            foreach (var problem in record.Problems)
            {
                await Console.Error.WriteLineAsync($"node-agent: warning: {problem}");
            }
            var request = new SnapshotSaveRequest(settings.Directory, settings.Config.String(parse, name, "etcd-snapshot-name")!, settings.NodeName, settings.Config.Bool(parse, compress))
            {
                Runtime = settings.Runtime,
                KubernetesVersion = record.Version ?? "",
                ClusterConfig = record.Configuration ?? "",
                TokenHash = TokenHash.FromDataDir(settings.DataDir),
            };
            using var s3 = settings.S3 is { } target ? OpenS3(target, settings.Directory) : null;
            var stores = new SnapshotStores(new LocalSnapshotStore(settings.Directory, settings.NodeName), s3);
            var outcome = await new SnapshotManager(saver, TimeProvider.System).SaveAsync(request, stores, null, ct);
            var result = outcome.Result;
            if (result.Skipped)
            {
                await Console.Error.WriteLineAsync($"node-agent: snapshot skipped: {result.SkippedBecause}");
                return 0;
            }
            var m = result.Metadata!;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Snapshot {m.Name} saved: {result.Path} ({m.SizeBytes} bytes, etcd revision {m.EtcdRevision}, sha256 {m.Sha256}, {m.Duration.TotalSeconds:0.00} s)"));
            if (outcome.Upload is not { } report)
            {
                return 0;
            }
            if (!report.Succeeded)
            {
                // S3 that cannot take the snapshot never costs the local one: it is kept, marked, and uploaded by a later save.
                await Console.Error.WriteLineAsync($"node-agent: {report.Failure}; the local snapshot {result.Path} is kept");
                return 1;
            }
            Console.WriteLine($"Snapshot {m.Name} uploaded: {report.Location}");
            return await PrintCaughtUpAsync(outcome.CaughtUp);
        }));
        return command;
    }

    private static Command List(CommonOptions common)
    {
        var output = new Option<string>("--output", "-o") { Description = "Output format: table, json or yaml.", DefaultValueFactory = _ => "table" };
        output.AcceptOnlyFromAmong("table", "json", "yaml");
        var command = new Command("ls", "List this node's snapshots, newest first.") { output };
        command.Aliases.Add("list");
        command.Aliases.Add("l");
        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            var settings = common.Read(parse);
            var snapshots = new LocalSnapshotStore(settings.Directory, settings.NodeName).List().ToList();
            if (settings.S3 is { } s3)
            {
                using var store = OpenS3(s3, settings.Directory);
                snapshots.AddRange((await store.ListAsync(ct)).Select(o => new SnapshotListing(
                    o.Name, o.Location(s3.Bucket), o.Size, SnapshotNames.CreatedFromName(o.Name) ?? o.LastModified, o.NodeName,
                    o.Name.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal), o.Metadata?.Status ?? SnapshotMetadata.Successful,
                    o.Metadata?.Sha256 ?? "", o.Metadata)));
                snapshots = [.. snapshots.OrderByDescending(x => x.CreatedAt).ThenBy(x => x.Name, StringComparer.Ordinal).ThenBy(x => x.Location, StringComparer.Ordinal)];
            }
            SnapshotListPrinter.Print(Console.Out, snapshots, parse.GetValue(output)!);
            return 0;
        }));
        return command;
    }

    private static Command Delete(CommonOptions common)
    {
        var names = new Argument<string[]>("name") { Description = "Snapshot file names, as ls shows them (bare names, no paths).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("delete", "Delete snapshots and their metadata sidecars.") { names };
        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            var settings = common.Read(parse);
            var given = parse.GetValue(names)!;
            var local = new LocalSnapshotStore(settings.Directory, settings.NodeName);
            if (settings.S3 is not { } s3)
            {
                foreach (var deleted in local.Delete(given))
                {
                    Console.WriteLine($"Snapshot {deleted} deleted");
                }
                return 0;
            }
            // With S3 a name may live locally, in the bucket, or both (as K3s: both copies go).
            foreach (var name in given)
            {
                SnapshotNames.ValidateFileName(name);
            }
            using var store = OpenS3(s3, settings.Directory);
            var stores = new SnapshotStores(local, store);
            var missing = new List<string>();
            var locked = false;
            foreach (var name in given.Distinct(StringComparer.Ordinal))
            {
                var deleted = await SnapshotManager.DeleteAsync(stores, name, ct);
                if (deleted.LocalDeleted)
                {
                    Console.WriteLine($"Snapshot {name} deleted");
                }
                if (deleted.S3 is { } remote)
                {
                    Console.WriteLine($"Snapshot {name} {remote.Describe(store.LocationOf(name))}");
                    locked |= remote.Outcome == S3DeleteOutcome.Locked;
                }
                if (deleted.S3Failure is { } failure)
                {
                    await Console.Error.WriteLineAsync($"node-agent: {failure}");
                    return 1;
                }
                if (!deleted.LocalDeleted && deleted.S3 is null)
                {
                    missing.Add(name);
                }
            }
            return missing.Count == 0 ? (locked ? 1 : 0)
                : throw new SnapshotRequestException($"no snapshot named {string.Join(", ", missing)} in {local.Directory} or {store.FolderLocation}");
        }));
        return command;
    }

    private static Command Prune(CommonOptions common)
    {
        var name = new Option<string>("--name") { Description = "Name prefix to prune: files named <name>-...; other prefixes are never touched.", DefaultValueFactory = _ => SnapshotNames.OnDemandPrefix };
        var retention = new Option<int>("--snapshot-retention", "--etcd-snapshot-retention") { Description = "How many of the newest to keep; below 1 prunes nothing.", DefaultValueFactory = _ => 5 };
        var s3Retention = new Option<int?>("--s3-retention", "--etcd-s3-retention") { Description = "How many to keep in S3 (default: --snapshot-retention)." };
        var scope = new Option<string>("--s3-retention-scope") { Description = "node: count and prune only this node's uploads (default); cluster: every node's, as K3s does.", DefaultValueFactory = _ => "node" };
        scope.AcceptOnlyFromAmong("node", "cluster");
        var command = new Command("prune", "Delete the oldest snapshots of a name prefix beyond the retention count, locally and with --s3 in S3.") { name, retention, s3Retention, scope };
        command.SetAction((parse, ct) => RunAsync(async () =>
        {
            var settings = common.Read(parse);
            var prefix = settings.Config.String(parse, name, "etcd-snapshot-name")!;
            var keepLocal = settings.Config.Int(parse, retention);
            using var store = settings.S3 is { } s3 ? OpenS3(s3, settings.Directory) : null;
            var stores = new SnapshotStores(new LocalSnapshotStore(settings.Directory, settings.NodeName), store);
            var nodeScope = parse.GetValue(scope) == "node" ? settings.NodeName : null;
            var pruned = await SnapshotManager.PruneAsync(stores, prefix, keepLocal, parse.GetValue(s3Retention) ?? keepLocal, nodeScope, missingDirIsEmpty: false, ct);
            foreach (var deleted in pruned.Local)
            {
                Console.WriteLine($"Snapshot {deleted} deleted");
            }
            foreach (var (o, deleted) in pruned.S3)
            {
                // A locked object is reported, not hidden behind a delete marker.
                Console.WriteLine($"Snapshot {o.Name} {deleted.Describe(o.Location(store!.Bucket))}");
            }
            if (pruned.S3Failure is { } failure)
            {
                await Console.Error.WriteLineAsync($"node-agent: {failure}");
                return 1;
            }
            return 0;
        }));
        return command;
    }

    private static TimeSpan StallTimeout(string text)
        => Config.DurationText.TryParse(text, out var value) && value > TimeSpan.Zero ? value
            : throw new SnapshotRequestException($"--etcd-snapshot-stall-timeout \"{text}\" is not a positive duration such as 30s or 2m");

    private static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is SnapshotRequestException or EtcdRequestException)
        {
            await Console.Error.WriteLineAsync($"node-agent: {ex.Message}");
            return 2;
        }
        catch (Exception ex) when (ex is EtcdUnavailableException or SnapshotStreamException or SnapshotInProgressException or S3TargetException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"node-agent: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("node-agent: interrupted; no partial snapshot was kept");
            return 130;
        }
    }

    /// <summary>The node's earlier snapshots whose upload failed, uploaded after this one: 0 when all went up, 1 when some still failed.</summary>
    private static async Task<int> PrintCaughtUpAsync(IReadOnlyList<UploadReport> reports)
    {
        var exitCode = 0;
        foreach (var report in reports)
        {
            if (report.Succeeded)
            {
                Console.WriteLine($"Snapshot {report.Name} uploaded (its earlier upload had failed): {report.Location}");
            }
            else
            {
                await Console.Error.WriteLineAsync($"node-agent: {report.Failure}; it stays marked for upload");
                exitCode = 1;
            }
        }
        return exitCode;
    }

    private static SnapshotSaver Saver(EtcdConnectionOptions etcd)
        => new(() => new GrpcEtcdMaintenance(etcd), TimeProvider.System, NullLogger<SnapshotSaver>.Instance);

    private static S3SnapshotStore OpenS3(S3Settings settings, string snapshotDir)
        => new(S3ClientFactory.Create(settings), settings, S3Retry.Default.Build(TimeProvider.System, settings.Timeout), TimeProvider.System, NullLogger<S3SnapshotStore>.Instance,
            MultipartJournal.ForSnapshotDir(snapshotDir));

    /// <summary>The flags every subcommand shares, resolved against the runtime's defaults.</summary>
    private sealed class CommonOptions
    {
        private readonly Option<string> _runtime = new("--runtime") { Description = "k3s, rke2 or etcd: picks the default data dir (/var/lib/rancher/<runtime>) and config file.", DefaultValueFactory = _ => "k3s" };
        private readonly Option<string> _config = new("--config", "-c")
        {
            Description = "The runtime's config file, read as k3s etcd-snapshot reads it, drop-ins in <file>.d/ too: node-name, data-dir, etcd-snapshot-dir, "
                + "etcd-snapshot-compress, etcd-snapshot-retention, etcd-snapshot-name and the etcd-s3* keys; a flag given here wins "
                + "(default /etc/rancher/<runtime>/config.yaml when it exists; k3s/rke2 only).",
        };
        private readonly Option<string> _dataDir = new("--data-dir", "-d") { Description = "The runtime's data dir (default /var/lib/rancher/<runtime>)." };
        private readonly Option<string> _dir = new("--dir", "--etcd-snapshot-dir") { Description = "Snapshot dir (default <data-dir>/server/db/snapshots)." };
        private readonly Option<string> _nodeName = new("--node-name") { Description = "This node's name (default node-name from --config, $K3S_NODE_NAME / $RKE2_NODE_NAME, then the full host name, lowercased, as K3s names it)." };
        private readonly Option<string> _endpoints = new("--endpoints") { Description = $"etcd client URLs, comma separated (default {EtcdConnectionOptions.DefaultEndpoint})." };
        private readonly Option<string> _cacert = new("--cacert") { Description = "CA of etcd's server certificate (default <data-dir>/server/tls/etcd/server-ca.crt for https)." };
        private readonly Option<string> _cert = new("--cert") { Description = "etcd client certificate (default <data-dir>/server/tls/etcd/client.crt for https)." };
        private readonly Option<string> _key = new("--key") { Description = "etcd client key (default <data-dir>/server/tls/etcd/client.key for https)." };

        public CommonOptions() => _runtime.AcceptOnlyFromAmong(RuntimeNaming.Names);

        public IEnumerable<Option> All => [_runtime, _config, _dataDir, _dir, _nodeName, _endpoints, _cacert, _cert, _key];

        public S3Options S3 { get; } = new();

        public Settings Read(ParseResult parse)
        {
            // Parsed once here (AcceptOnlyFromAmong has refused any other text); the enum travels from here on.
            var runtime = RuntimeNaming.TryParse(parse.GetValue(_runtime), out var parsed) ? parsed
                : throw new SnapshotRequestException($"--runtime '{parse.GetValue(_runtime)}' is not one of {string.Join(", ", RuntimeNaming.Names)}");
            var config = RuntimeConfigDefaults.Load(runtime, NonEmpty(parse.GetValue(_config)));
            var dataDir = NonEmpty(config.String(parse, _dataDir)) ?? RuntimeNaming.DefaultDataDir(runtime);
            var dir = NonEmpty(config.String(parse, _dir)) ?? Path.Combine(dataDir, "server", "db", "snapshots");
            // K3s names the node after os.Hostname(), the whole host name (Environment.MachineName would cut it at the first dot).
            var nodeName = NonEmpty(config.String(parse, _nodeName))
                ?? NonEmpty(Environment.GetEnvironmentVariable(runtime == Contracts.V1.Runtime.Rke2 ? "RKE2_NODE_NAME" : "K3S_NODE_NAME"))
                ?? System.Net.Dns.GetHostName().ToLowerInvariant();
            SnapshotNames.ValidatePart(nodeName, "node name");
            return new Settings(runtime, dataDir, dir, nodeName,
                EtcdConnectionOptions.Resolve(dataDir, parse.GetValue(_endpoints), parse.GetValue(_cacert), parse.GetValue(_cert), parse.GetValue(_key)),
                S3.Read(parse, config), config);
        }

    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private sealed record Settings(Contracts.V1.Runtime Runtime, string DataDir, string Directory, string NodeName, EtcdConnectionOptions Etcd, S3Settings? S3, RuntimeConfigDefaults Config);
}
