using System.Globalization;
using System.Security.Cryptography;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Benchmarks;

/// <summary>
/// <c>node-agent etcd-snapshot save</c> against <c>etcdctl snapshot save</c> on the same etcd, run
/// alternately so neither gets a warmer page cache, at each db size. Prints each run, the medians,
/// the ratio (ours / etcdctl; goal at most 0.9) and peak RSS (goal at most 64 MiB, flat with size).
/// </summary>
internal static class SnapshotSaveBenchmark
{
    public static async Task RunAsync(int[] sizesMb, int pairs, int valueBytes, TextWriter output)
    {
        // The shipped form (Native AOT, published by run.sh) when present, and the JIT build the tests use.
        var agents = new List<(string Label, string Path)>();
        var aot = RepoPaths.Shipped("node-agent")!;
        if (File.Exists(aot))
        {
            agents.Add(("node-agent (AOT)", aot));
        }
        agents.Add(("node-agent (JIT)", RepoPaths.Built("node-agent")));
        using var work = new TempDir("nodeagent-bench-");
        await using var etcd = await EtcdServer.StartAsync();
        output.WriteLine($"snapshot-save: etcd {etcd.ClientUrl}, {pairs} rounds per size, values of {valueBytes / 1024} KiB, {Environment.ProcessorCount} cores, snapshots in {work.Path}");
        var loadedMb = 0;
        var summary = new List<string>();
        foreach (var sizeMb in sizesMb)
        {
            if (sizeMb > loadedMb)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await EtcdData.LoadAsync(etcd.ClientUrl, sizeMb - loadedMb, prefix: $"/bench/{loadedMb}/", valueBytes: valueBytes);
                output.WriteLine($"loaded {sizeMb - loadedMb} MB more in {clock.Elapsed.TotalSeconds:0.0} s");
                loadedMb = sizeMb;
            }
            var ours = agents.ToDictionary(a => a.Label, _ => new List<Measurement>());
            var theirs = new List<Measurement>();
            var identical = "";
            for (var round = 1; round <= pairs; round++)
            {
                var line = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture, $"  {sizeMb} MB round {round}:"));
                // etcdctl goes first in odd rounds and last in even ones, so no tool always gets the warmer cache.
                var etcdctlFirst = round % 2 == 1;
                if (etcdctlFirst)
                {
                    theirs.Add(await EtcdctlAsync(etcd, work.Path));
                }
                foreach (var (label, path) in agents)
                {
                    var agentDir = Path.Combine(work.Path, "agent");
                    var m = Measurement.Check(await MeasuredProcess.RunAsync(path,
                        ["etcd-snapshot", "save", "--runtime", "etcd", "--endpoints", etcd.ClientUrl, "--dir", agentDir, "--node-name", "bench"]), label);
                    ours[label].Add(m);
                    line.Append(CultureInfo.InvariantCulture, $" {label} {m.Wall.TotalSeconds:0.000} s {Measurement.Mib(m.PeakRssBytes)} |");
                    if (round == 1 && etcdctlFirst)
                    {
                        var agentFile = Directory.GetFiles(agentDir).Single(f => !Path.GetFileName(f).StartsWith('.'));
                        identical += await Sha256Async(agentFile) == await Sha256Async(Path.Combine(work.Path, "etcdctl.db")) ? "" : $" {label} DIFFERS from etcdctl;";
                    }
                    Directory.Delete(agentDir, recursive: true);
                }
                if (!etcdctlFirst)
                {
                    theirs.Add(await EtcdctlAsync(etcd, work.Path));
                }
                File.Delete(Path.Combine(work.Path, "etcdctl.db"));
                line.Append(CultureInfo.InvariantCulture, $" etcdctl {theirs[^1].Wall.TotalSeconds:0.000} s {Measurement.Mib(theirs[^1].PeakRssBytes)}");
                output.WriteLine(line);
            }
            var theirMedian = Measurement.Median(theirs.Select(m => m.Wall.TotalSeconds));
            foreach (var (label, measurements) in ours)
            {
                var median = Measurement.Median(measurements.Select(m => m.Wall.TotalSeconds));
                var result = string.Create(CultureInfo.InvariantCulture,
                    $"{sizeMb} MB: {label} median {median:0.000} s vs etcdctl {theirMedian:0.000} s = ratio {median / theirMedian:0.00} (goal <= 0.90); "
                    + $"peak RSS {Measurement.Mib(measurements.Max(m => m.PeakRssBytes))} (goal <= 64 MiB) vs etcdctl {Measurement.Mib(theirs.Max(m => m.PeakRssBytes))}");
                summary.Add(result);
                output.WriteLine(result);
            }
            output.WriteLine(identical.Length == 0 ? $"{sizeMb} MB: every snapshot byte-identical to etcdctl's" : $"{sizeMb} MB:{identical}");
        }
        output.WriteLine();
        output.WriteLine("summary:");
        foreach (var line in summary)
        {
            output.WriteLine("  " + line);
        }
    }

    private static async Task<Measurement> EtcdctlAsync(EtcdServer etcd, string dir)
        => Measurement.Check(await MeasuredProcess.RunAsync(Etcdctl.FileName, ["--endpoints", etcd.ClientUrl, "snapshot", "save", Path.Combine(dir, "etcdctl.db")],
            new Dictionary<string, string> { ["ETCDCTL_API"] = "3" }), "etcdctl");

    private static async Task<string> Sha256Async(string path)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream));
    }
}
