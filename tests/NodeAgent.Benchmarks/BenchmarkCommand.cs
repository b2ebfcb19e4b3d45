using System.Globalization;

namespace NodeAgent.Benchmarks;

/// <summary>Picks a scenario from the command line.</summary>
internal static class BenchmarkCommand
{
    private const string Usage = """
        usage: dotnet run --project tests/NodeAgent.Benchmarks -c Release -- <scenario> [options]

        scenarios:
          snapshot-save   node-agent etcd-snapshot save vs etcdctl snapshot save, alternately
            --sizes MB[,MB...]  etcd db sizes to measure at, grown in order (default 100,900)
            --pairs N           runs of each tool per size, at least 3 (default 3)
            --value-kb N        size of each value loaded (default 1024)
          save-upload     node-agent etcd-snapshot save --s3 vs etcdctl snapshot save then aws s3 cp,
                          on Ceph RGW and on s3rver
            --size MB           etcd db size (default 900)
            --servers LIST      ceph-rgw, s3rver or both (default ceph-rgw,s3rver)
            --https BOOL        over each server's HTTPS endpoint (the fixture's CA, given to both
                                tools), where the agent sends UNSIGNED-PAYLOAD (default false)
            --pairs N           rounds per server, at least 3 (default 3)
            --value-kb N        size of each value loaded (default 1024)
          plan-fanout     N agents long-poll one plan-server process; every plan changes at once
            --agents N          simulated agents, each on its own connection (default 1000)
            --rounds N          plan changes measured, at least 3 (default 5)
            --store S           sqlite: one server on SQLite; etcd: that, then --replicas replicas
                                on a 3-member etcd store in the same run (default sqlite)
            --replicas N        with --store etcd: plan-server replicas, agents spread over them (default 3)
          restore         a 3-member etcd restored from S3 by NodeAgent (time of each phase) vs the same
                          by hand (aws s3 cp + etcdctl snapshot restore + start, on every member at once)
            --size MB           etcd db size (default 900)
            --rounds N          restores of each kind, in turns (default 3)
            --trace FILE        every line of the plan server and the agents, each watched state and
                                the hand-run's steps, time-stamped (where a phase's seconds go)
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            var options = Options(args.Skip(1).ToArray());
            switch (args[0])
            {
                case "snapshot-save":
                    var sizes = Get(options, "--sizes", "100,900").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                    var pairs = int.Parse(Get(options, "--pairs", "3"), CultureInfo.InvariantCulture);
                    var valueKb = int.Parse(Get(options, "--value-kb", "1024"), CultureInfo.InvariantCulture);
                    if (pairs < 3 || sizes.Length == 0 || sizes.Any(s => s < 1) || valueKb < 1)
                    {
                        throw new ArgumentException("--pairs must be at least 3, --sizes and --value-kb positive");
                    }
                    await SnapshotSaveBenchmark.RunAsync(sizes, pairs, valueKb * 1024, Console.Out);
                    return 0;
                case "save-upload":
                    var size = int.Parse(Get(options, "--size", "900"), CultureInfo.InvariantCulture);
                    var rounds = int.Parse(Get(options, "--pairs", "3"), CultureInfo.InvariantCulture);
                    var kb = int.Parse(Get(options, "--value-kb", "1024"), CultureInfo.InvariantCulture);
                    if (rounds < 3 || size < 1 || kb < 1)
                    {
                        throw new ArgumentException("--pairs must be at least 3, --size and --value-kb positive");
                    }
                    var servers = Get(options, "--servers", "ceph-rgw,s3rver").Split(',');
                    var https = bool.Parse(Get(options, "--https", "false"));
                    await SaveUploadBenchmark.RunAsync(size, rounds, kb * 1024, servers, https, Console.Out);
                    return 0;
                case "plan-fanout":
                    var agents = int.Parse(Get(options, "--agents", "1000"), CultureInfo.InvariantCulture);
                    var changes = int.Parse(Get(options, "--rounds", "5"), CultureInfo.InvariantCulture);
                    var fanoutStore = Get(options, "--store", "sqlite");
                    var replicas = int.Parse(Get(options, "--replicas", "3"), CultureInfo.InvariantCulture);
                    if (agents < 1 || changes < 3 || replicas < 1 || fanoutStore is not ("sqlite" or "etcd"))
                    {
                        throw new ArgumentException("--agents and --replicas must be positive, --rounds at least 3, --store sqlite or etcd");
                    }
                    await PlanFanoutBenchmark.RunAsync(agents, changes, fanoutStore, replicas, Console.Out);
                    return 0;
                case "restore":
                    var restoreMb = int.Parse(Get(options, "--size", "900"), CultureInfo.InvariantCulture);
                    var restores = int.Parse(Get(options, "--rounds", "3"), CultureInfo.InvariantCulture);
                    if (restoreMb < 1 || restores < 1)
                    {
                        throw new ArgumentException("--size and --rounds must be positive");
                    }
                    await RestoreBenchmark.RunAsync(restoreMb, restores, options.GetValueOrDefault("--trace"), Console.Out);
                    return 0;
                default:
                    await Console.Error.WriteLineAsync($"unknown scenario \"{args[0]}\"\n\n{Usage}");
                    return 2;
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            await Console.Error.WriteLineAsync($"benchmark: {ex.Message}");
            return 2;
        }
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i += 2)
        {
            if (i + 1 >= args.Length || !args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"expected --option value, got \"{args[i]}\"");
            }
            result[args[i]] = args[i + 1];
        }
        return result;
    }

    private static string Get(Dictionary<string, string> options, string key, string fallback)
        => options.TryGetValue(key, out var value) ? value : fallback;
}
