using System.Text.RegularExpressions;

namespace NodeAgent.Testing;

/// <summary>
/// Which of a project's namespaces import which, read from its sources (for the tests that keep the
/// namespaces free of cycles). A namespace depends on another when one of its files names it: in a
/// <c>using</c>, fully qualified (<c>NodeAgent.Agent.Files.LinuxFiles</c>), or relative to the root
/// (<c>Files.LinuxFiles</c>). A nested namespace also depends on its parents, which it sees without
/// a <c>using</c>. Comments do not count; a string that happens to look like a namespace does
/// (conservative: it can only add an edge).
/// </summary>
public sealed partial class NamespaceGraph
{
    private readonly Dictionary<string, Dictionary<string, string>> _edges;

    private NamespaceGraph(Dictionary<string, Dictionary<string, string>> edges) => _edges = edges;

    /// <summary>The namespaces declared under <paramref name="root"/>, each with the namespaces it depends on.</summary>
    public IReadOnlyDictionary<string, IReadOnlyCollection<string>> Edges =>
        _edges.ToDictionary(e => e.Key, e => (IReadOnlyCollection<string>)e.Value.Keys.ToList());

    /// <summary>Reads every .cs file under <paramref name="directory"/> (not bin/ or obj/) whose namespace starts with <paramref name="root"/>.</summary>
    public static NamespaceGraph Read(string directory, string root)
    {
        var files = Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Select(f => (Path: Path.GetRelativePath(RepoPaths.Root, f), Text: StripComments(File.ReadAllText(f))))
            .Select(f => (f.Path, f.Text, Namespace: NamespaceDeclaration().Match(f.Text) is { Success: true } m ? m.Groups[1].Value : null))
            .Where(f => f.Namespace is not null && (f.Namespace == root || f.Namespace.StartsWith(root + ".", StringComparison.Ordinal)))
            .ToList();
        var declared = files.Select(f => f.Namespace!).ToHashSet(StringComparer.Ordinal);
        var relative = Children(declared, root);
        var edges = declared.ToDictionary(n => n, _ => new Dictionary<string, string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var (path, text, ns) in files)
        {
            foreach (var parent in Parents(ns!).Where(declared.Contains))
            {
                edges[ns!].TryAdd(parent, $"{path} (nested in it)");
            }
            var absolute = new Regex(@"(?<![\w.])" + Regex.Escape(root) + @"((?:\.\w+)+)");
            var names = absolute.Matches(text).Select(m => root + m.Groups[1].Value);
            if (relative.Count > 0)
            {
                var shortNames = new Regex(@"(?<![\w.])((?:" + string.Join('|', relative.Select(Regex.Escape)) + @")(?:\.\w+)*)\.");
                names = names.Concat(shortNames.Matches(text).Select(m => root + "." + m.Groups[1].Value));
            }
            foreach (var name in names)
            {
                if (Longest(declared, name) is { } target && target != ns && !Parents(ns!).Contains(target))
                {
                    edges[ns!].TryAdd(target, path);
                }
            }
        }
        return new NamespaceGraph(edges);
    }

    /// <summary>
    /// Each cycle (a strongly connected set of more than one namespace), as one line naming its
    /// namespaces and, for each edge inside it, a file that makes it. Empty when there is none.
    /// </summary>
    public IReadOnlyList<string> Cycles()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var found = new List<string>();
        void Visit(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Push(node);
            onStack.Add(node);
            foreach (var next in _edges[node].Keys)
            {
                if (index.TryGetValue(next, out var seen))
                {
                    if (onStack.Contains(next))
                    {
                        low[node] = Math.Min(low[node], seen);
                    }
                }
                else
                {
                    Visit(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
            }
            if (low[node] != index[node])
            {
                return;
            }
            var members = new List<string>();
            string member;
            do
            {
                member = stack.Pop();
                onStack.Remove(member);
                members.Add(member);
            }
            while (member != node);
            if (members.Count > 1)
            {
                members.Sort(StringComparer.Ordinal);
                var inside = members.SelectMany(a => _edges[a].Where(e => members.Contains(e.Key)).Select(e => $"{a} -> {e.Key} ({e.Value})"));
                found.Add($"cycle among {string.Join(", ", members)}: {string.Join("; ", inside)}");
            }
        }
        foreach (var node in _edges.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }
        return found;
    }

    private static List<string> Children(HashSet<string> declared, string root) =>
        declared.Where(n => n.Length > root.Length + 1 && n.StartsWith(root + ".", StringComparison.Ordinal))
            .Select(n => n[(root.Length + 1)..].Split('.')[0])
            .Distinct(StringComparer.Ordinal)
            .ToList();

    private static IEnumerable<string> Parents(string ns)
    {
        for (var dot = ns.LastIndexOf('.'); dot > 0; dot = ns.LastIndexOf('.', dot - 1))
        {
            yield return ns[..dot];
        }
    }

    private static string? Longest(HashSet<string> declared, string dotted)
    {
        for (var candidate = dotted; ; candidate = candidate[..candidate.LastIndexOf('.')])
        {
            if (declared.Contains(candidate))
            {
                return candidate;
            }
            if (!candidate.Contains('.', StringComparison.Ordinal))
            {
                return null;
            }
        }
    }

    private static string StripComments(string text) => Comments().Replace(text, "");

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"//[^\n]*|/\*.*?\*/", RegexOptions.Singleline)]
    private static partial Regex Comments();
}
