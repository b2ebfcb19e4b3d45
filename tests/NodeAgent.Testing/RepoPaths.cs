namespace NodeAgent.Testing;

/// <summary>Where the repository's build outputs and installed test tools are.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The directory that holds NodeAgent.sln.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>
    /// The program to run: what the packages ship when ./test.sh built them for this run
    /// (NODEAGENT_PACKAGES_BUILT=1: the Native AOT node-agent in artifacts/aot/, the single-file
    /// plan-server and nodeagentctl in artifacts/publish/), else the solution build's artifacts/bin/&lt;command&gt;.
    /// A whole run so tests the binaries users install; and its agents, over 150 processes, need no JIT:
    /// as Native AOT they spent 0.9 CPU-minutes of a run, against 6.6 from artifacts/bin.
    /// </summary>
    public static string Executable(string command)
    {
        if (Environment.GetEnvironmentVariable("NODEAGENT_PACKAGES_BUILT") == "1" && Shipped(command) is { } shipped)
        {
            if (!File.Exists(shipped))
            {
                throw new FileNotFoundException(
                    $"{shipped} does not exist, though NODEAGENT_PACKAGES_BUILT=1 says packaging/build.sh made it.", shipped);
            }
            return shipped;
        }
        return Built(command);
    }

    /// <summary>The solution build's artifacts/bin/&lt;command&gt; (the JIT build), whatever the run built.</summary>
    public static string Built(string command)
    {
        var path = Path.Combine(Root, "artifacts", "bin", command);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{path} does not exist: build the solution first (./test.sh does).", path);
        }
        return path;
    }

    /// <summary>
    /// Where packaging/build.sh (and run.sh's publish) leaves the program it ships, or null for one it
    /// does not ship; the file may not exist yet.
    /// </summary>
    public static string? Shipped(string command) => command switch
    {
        "node-agent" => Path.Combine(Root, "artifacts", "aot", "node-agent"),
        "plan-server" or "nodeagentctl" => Path.Combine(Root, "artifacts", "publish", command, command),
        _ => null,
    };

    /// <summary>A tool that eng/install-prereqs.sh installed into .tools/npm (buf, s3rver).</summary>
    public static string NpmTool(string name)
    {
        var path = Path.Combine(Root, ".tools", "npm", "node_modules", ".bin", name);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{path} does not exist: run eng/install-prereqs.sh (./test.sh does).", path);
        }
        return path;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "NodeAgent.sln")))
            {
                return dir.FullName;
            }
        }
        throw new DirectoryNotFoundException($"No NodeAgent.sln above {AppContext.BaseDirectory}.");
    }
}
