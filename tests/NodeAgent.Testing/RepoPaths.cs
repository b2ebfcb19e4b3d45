namespace NodeAgent.Testing;

/// <summary>Where the repository's build outputs and installed test tools are.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    /// <summary>The directory that holds NodeAgent.sln.</summary>
    public static string Root => RootLazy.Value;

    /// <summary>artifacts/bin/&lt;command&gt;: node-agent, plan-server, nodeagentctl.</summary>
    public static string Executable(string command)
    {
        var path = Path.Combine(Root, "artifacts", "bin", command);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{path} does not exist: build the solution first (./test.sh does).", path);
        }
        return path;
    }

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
