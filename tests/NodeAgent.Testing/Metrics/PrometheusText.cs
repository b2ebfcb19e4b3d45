using System.Globalization;
using System.Text.RegularExpressions;

namespace NodeAgent.Testing.Metrics;

/// <summary>One sample of a scrape: metric name, labels, value.</summary>
public sealed record MetricSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public bool Has(params (string Key, string Value)[] labels) => labels.All(l => Labels.TryGetValue(l.Key, out var v) && v == l.Value);
}

/// <summary>
/// Reads the Prometheus text exposition format into samples, strictly: a line that is neither a
/// comment nor <c>name{labels} value</c> fails the test. (promtool checks the format too; this is
/// what lets a test read the numbers.)
/// </summary>
public static partial class PrometheusText
{
    public static IReadOnlyList<MetricSample> Parse(string text)
    {
        var samples = new List<MetricSample>();
        foreach (var line in text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                throw new FormatException($"not a Prometheus sample line: '{line}'");
            }
            var labels = LabelPair().Matches(match.Groups["labels"].Value)
                .ToDictionary(m => m.Groups["k"].Value, m => Unescape(m.Groups["v"].Value), StringComparer.Ordinal);
            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new MetricSample(match.Groups["name"].Value, labels, value));
        }
        return samples;
    }

    /// <summary>The one sample of <paramref name="name"/> with these labels (others may be present).</summary>
    public static MetricSample One(this IReadOnlyList<MetricSample> samples, string name, params (string Key, string Value)[] labels)
    {
        var found = samples.Where(s => s.Name == name && s.Has(labels)).ToList();
        return found.Count == 1
            ? found[0]
            : throw new InvalidOperationException($"{found.Count} samples of {name} with {string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"))}; the scrape has: "
                + string.Join("; ", samples.Where(s => s.Name == name).Select(s => string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}")) + " " + s.Value)));
    }

    private static string Unescape(string value) => value.Replace("\\\"", "\"", StringComparison.Ordinal)
        .Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("""(?<k>[a-zA-Z_][a-zA-Z0-9_]*)="(?<v>(\\.|[^"\\])*)",?""")]
    private static partial Regex LabelPair();
}
