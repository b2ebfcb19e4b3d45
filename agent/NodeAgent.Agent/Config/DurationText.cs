using System.Globalization;
using System.Text.RegularExpressions;

namespace NodeAgent.Agent.Config;

/// <summary>Go-style durations as K3s writes them: "90s", "5m", "1h30m", "500ms".</summary>
internal static partial class DurationText
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        var matches = Part().Matches(text.Trim());
        if (text.Trim().Length == 0 || string.Concat(matches.Select(m => m.Value)) != text.Trim())
        {
            return false;
        }
        foreach (Match match in matches)
        {
            var number = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            value += match.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(number),
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                _ => TimeSpan.FromHours(number),
            };
        }
        return true;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|s|m|h)")]
    private static partial Regex Part();
}
