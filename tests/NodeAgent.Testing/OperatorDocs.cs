namespace NodeAgent.Testing;

/// <summary>
/// docs/operator.md, read for tests that keep it true to the code: its table rows, found by the
/// first cell (<c>| `key` | ... |</c>), and its text.
/// </summary>
public sealed class OperatorDocs
{
    private readonly string[] _lines;

    private OperatorDocs(string text)
    {
        Text = text;
        _lines = text.Split('\n');
    }

    /// <summary>The path of the page, under the repository root.</summary>
    public static string Path => System.IO.Path.Combine(RepoPaths.Root, "docs", "operator.md");

    public string Text { get; }

    public static OperatorDocs Load() => new(File.ReadAllText(Path));

    /// <summary>
    /// The table row whose first cell is <c>`<paramref name="firstCell"/>`</c>, or null. The row comes back as
    /// a reader sees it: backticks dropped and escaped pipes (<c>\|</c>) as plain pipes.
    /// </summary>
    public string? Row(string firstCell)
    {
        var prefix = $"| `{firstCell}` |";
        var line = _lines.FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal))
            ?? _lines.FirstOrDefault(l => l.StartsWith($"| `{firstCell}`, ", StringComparison.Ordinal));
        return line?.TrimEnd('\r').Replace("\\|", "|", StringComparison.Ordinal).Replace("`", "", StringComparison.Ordinal);
    }

    /// <summary>Whether the page names <paramref name="name"/> as code (<c>`--flag`</c>, or <c>`--flag` </c> inside a longer span).</summary>
    public bool NamesCode(string name)
        => Text.Contains($"`{name}`", StringComparison.Ordinal) || Text.Contains($"`{name} ", StringComparison.Ordinal);
}
