using System.Diagnostics;
using System.Globalization;

namespace NodeAgent.Benchmarks;

/// <summary>One run of a command: wall time, and peak RSS (VmHWM, a high-water mark) polled from /proc while it runs.</summary>
internal sealed record Measurement(TimeSpan Wall, long PeakRssBytes, int ExitCode, string Error)
{
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
        await stdout;
        return new Measurement(wall, peak, process.ExitCode, (await stderr).Trim());
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
