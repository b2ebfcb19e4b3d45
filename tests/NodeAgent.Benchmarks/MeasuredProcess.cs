using System.Diagnostics;
using System.Globalization;

namespace NodeAgent.Benchmarks;

/// <summary>
/// One run of a command: wall time, peak RSS (VmHWM, a high-water mark) polled from /proc while it
/// runs, and how busy the whole machine's CPUs were meanwhile (0..1, from /proc/stat: with the S3
/// server and etcd on the same cores, it says when a step was CPU-bound).
/// </summary>
internal sealed record Measurement(TimeSpan Wall, long PeakRssBytes, int ExitCode, string Error, double CpuBusy = 0)
{
    public string Busy => string.Create(CultureInfo.InvariantCulture, $"cpu {CpuBusy * 100:0}%");

    /// <summary>The measurement, or the tool's error when it did not exit 0.</summary>
    public static Measurement Check(Measurement m, string tool)
        => m.ExitCode == 0 ? m : throw new InvalidOperationException($"{tool} exited {m.ExitCode}: {m.Error}");

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1048576.0:0.0} MiB");
}

internal static class MeasuredProcess
{
    public static async Task<Measurement> RunAsync(string fileName, IReadOnlyList<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }
        var cpuBefore = MachineCpu.Read();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {fileName}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var statusPath = $"/proc/{process.Id}/status";
        long peak = 0;
        var exited = process.WaitForExitAsync();
        while (!exited.IsCompleted)
        {
            peak = Math.Max(peak, ReadHighWaterMark(statusPath));
            await Task.WhenAny(exited, Task.Delay(5));
        }
        await exited;
        var wall = clock.Elapsed;
        var busy = MachineCpu.Read().BusySince(cpuBefore);
        await stdout;
        return new Measurement(wall, peak, process.ExitCode, (await stderr).Trim(), busy);
    }

    private static long ReadHighWaterMark(string statusPath)
    {
        try
        {
            foreach (var line in File.ReadLines(statusPath))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }
}

/// <summary>The aggregate "cpu" line of /proc/stat: busy and total jiffies over all cores.</summary>
internal readonly record struct MachineCpu(long Busy, long Total)
{
    public static MachineCpu Read()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => long.Parse(f, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
        var total = fields.Take(8).Sum();
        return new MachineCpu(total - fields[3] - fields[4], total);
    }

    public double BusySince(MachineCpu before) => Total == before.Total ? 0 : (double)(Busy - before.Busy) / (Total - before.Total);
}
