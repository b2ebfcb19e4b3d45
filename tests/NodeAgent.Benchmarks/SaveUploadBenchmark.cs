using System.Globalization;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.S3;
using NodeAgent.Testing.Tools;

namespace NodeAgent.Benchmarks;

/// <summary>
/// <c>node-agent etcd-snapshot save --s3</c> (save and upload at once) against the peers done one
/// after the other: <c>etcdctl snapshot save</c>, then <c>aws s3 cp</c>; same db, same S3 server,
/// in turns. Prints the medians, the ratio to the peers' total (goal at most 0.7), the ratio to the
/// slower peer step alone, the floor of a perfect pipeline (goal at most 1.1), upload MB/s and RSS.
/// Each server runs alone; each measured step starts with the disk flushed (<c>sync</c>) and each round
/// with an empty bucket.
/// </summary>
internal static class SaveUploadBenchmark
{
    public static async Task RunAsync(int sizeMb, int rounds, int valueBytes, IReadOnlyList<string> serverNames, bool https, TextWriter output)
    {
        var aot = RepoPaths.Shipped("node-agent")!;
        var agent = File.Exists(aot) ? aot : RepoPaths.Built("node-agent");
        using var work = new TempDir("nodeagent-bench-");
        await using var etcd = await EtcdServer.StartAsync();
        // With a CA, each server serves HTTPS too (a certificate of that CA); the tools get its file.
        using var ca = https ? new TestCertificateAuthority() : null;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await EtcdData.LoadAsync(etcd.ClientUrl, sizeMb, valueBytes: valueBytes);
        output.WriteLine($"save-upload: {sizeMb} MB loaded in {clock.Elapsed.TotalSeconds:0.0} s; {rounds} rounds per server over {(https ? "HTTPS" : "HTTP")}; agent {agent}");
        var summary = new List<string>();
        var starts = new Dictionary<string, Func<Task<IS3TestServer>>>
        {
            ["ceph-rgw"] = async () => await CephRgwServer.StartAsync(ca),
            ["s3rver"] = async () => await S3rverServer.StartAsync(ca),
        };
        foreach (var (name, start) in starts.Where(s => serverNames.Contains(s.Key)))
        {
            // One server at a time, stopped before the next starts: RGW's memstore keeps every object
            // in memory (6 GiB after three rounds at 900 MB), which squeezed the page cache s3rver's
            // files then went through.
            var server = await start();
            await using var stopped = (IAsyncDisposable)server;
            var bucket = "bench-" + Guid.NewGuid().ToString("N")[..8];
            await server.CreateBucketAsync(bucket);
            var endpoint = https
                ? server.HttpsEndpoint ?? throw new ArgumentException($"{server.Name} has no HTTPS endpoint")
                : server.HttpEndpoint;
            // Both tools trust the fixture's CA for HTTPS; over HTTP the agent needs --s3-insecure.
            string[] agentTls = https ? ["--s3-endpoint-ca", server.CaCertificatePath!] : ["--s3-insecure"];
            string[] awsTls = https ? ["--ca-bundle", server.CaCertificatePath!] : [];
            var ours = new List<Measurement>();
            var saves = new List<Measurement>();
            var copies = new List<Measurement>();
            long size = 0;
            var keys = new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = server.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = server.SecretKey };
            var awsEnvironment = new Dictionary<string, string>(keys) { ["AWS_DEFAULT_REGION"] = "us-east-1", ["AWS_CONFIG_FILE"] = "/dev/null", ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null" };
            for (var round = 1; round <= rounds; round++)
            {
                await SettleAsync(server, endpoint, bucket, keys, awsTls);
                await QuietDiskAsync();
                var agentDir = Path.Combine(work.Path, "agent");
                var a = Measurement.Check(await MeasuredProcess.RunAsync(agent,
                    ["etcd-snapshot", "save", "--runtime", "etcd", "--endpoints", etcd.ClientUrl, "--dir", agentDir, "--node-name", "bench",
                     "--s3", "--s3-bucket", bucket, "--s3-endpoint", endpoint.Authority, .. agentTls], keys), "node-agent");
                size = new FileInfo(Directory.GetFiles(agentDir).Single(f => !Path.GetFileName(f).StartsWith('.'))).Length;
                Directory.Delete(agentDir, recursive: true);
                var file = Path.Combine(work.Path, "etcdctl.db");
                await SettleAsync(server, endpoint, bucket, keys, awsTls);
                await QuietDiskAsync();
                var e = Measurement.Check(await MeasuredProcess.RunAsync(Etcdctl.FileName, ["--endpoints", etcd.ClientUrl, "snapshot", "save", file],
                    new Dictionary<string, string> { ["ETCDCTL_API"] = "3" }), "etcdctl");
                await QuietDiskAsync();
                var c = Measurement.Check(await MeasuredProcess.RunAsync(AwsCli.FileName,
                    ["--endpoint-url", endpoint.ToString().TrimEnd('/'), .. awsTls, "s3", "cp", file, $"s3://{bucket}/etcdctl-{round}.db"], awsEnvironment), "aws s3 cp");
                File.Delete(file);
                // Every round starts from the same store: this round's objects go (not measured).
                await SettleAsync(server, endpoint, bucket, keys, awsTls);
                Measurement.Check(await MeasuredProcess.RunAsync(AwsCli.FileName,
                    ["--endpoint-url", endpoint.ToString().TrimEnd('/'), .. awsTls, "s3", "rm", "--recursive", $"s3://{bucket}/"], awsEnvironment), "aws s3 rm");
                ours.Add(a);
                saves.Add(e);
                copies.Add(c);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {server.Name} round {round}: node-agent save+upload {a.Wall.TotalSeconds:0.000} s {Measurement.Mib(a.PeakRssBytes)} {a.Busy} | etcdctl {e.Wall.TotalSeconds:0.000} s {e.Busy} + aws s3 cp {c.Wall.TotalSeconds:0.000} s {c.Busy}"));
            }
            var agentMedian = Measurement.Median(ours.Select(m => m.Wall.TotalSeconds));
            var saveMedian = Measurement.Median(saves.Select(m => m.Wall.TotalSeconds));
            var copyMedian = Measurement.Median(copies.Select(m => m.Wall.TotalSeconds));
            var line = string.Create(CultureInfo.InvariantCulture,
                $"{server.Name} ({(https ? "HTTPS" : "HTTP")}), {size / 1048576.0:0} MiB: node-agent {agentMedian:0.000} s vs etcdctl {saveMedian:0.000} s + aws {copyMedian:0.000} s = "
                + $"ratio to the total {agentMedian / (saveMedian + copyMedian):0.00} (goal <= 0.70), to the slower step {agentMedian / Math.Max(saveMedian, copyMedian):0.00} (goal <= 1.10); "
                + $"upload {size / 1e6 / agentMedian:0} MB/s (aws alone {size / 1e6 / copyMedian:0} MB/s); CPUs busy: node-agent {Measurement.Median(ours.Select(m => m.CpuBusy)) * 100:0}%, aws {Measurement.Median(copies.Select(m => m.CpuBusy)) * 100:0}%; peak RSS {Measurement.Mib(ours.Max(m => m.PeakRssBytes))} (goal <= 150 MiB)");
            summary.Add(line);
            output.WriteLine(line);
        }
        output.WriteLine();
        output.WriteLine("summary:");
        foreach (var line in summary)
        {
            output.WriteLine("  " + line);
        }
    }

    /// <summary>
    /// Writes back what earlier steps left dirty in the page cache, so no step is measured while the
    /// kernel flushes another one's files (s3rver's, etcdctl's) to the same disk.
    /// </summary>
    private static async Task QuietDiskAsync()
        => Measurement.Check(await MeasuredProcess.RunAsync("sync", []), "sync");

    /// <summary>
    /// s3rver answers CompleteMultipartUpload before it has put the object together, and lists with
    /// 500 until it has; wait for a clean listing so no round starts against a half-finished server.
    /// </summary>
    private static async Task SettleAsync(IS3TestServer server, Uri endpoint, string bucket, Dictionary<string, string> keys, string[] awsTls)
    {
        for (var attempt = 0; attempt < 120; attempt++)
        {
            var list = await MeasuredProcess.RunAsync(AwsCli.FileName,
                ["--endpoint-url", endpoint.ToString().TrimEnd('/'), .. awsTls, "s3api", "list-objects-v2", "--bucket", bucket],
                new Dictionary<string, string>(keys) { ["AWS_DEFAULT_REGION"] = "us-east-1", ["AWS_CONFIG_FILE"] = "/dev/null", ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null" });
            if (list.ExitCode == 0)
            {
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        throw new InvalidOperationException($"{server.Name} did not list bucket {bucket} cleanly within 2 minutes");
    }

}
