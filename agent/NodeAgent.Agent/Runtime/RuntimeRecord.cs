namespace NodeAgent.Agent.Runtime;

/// <summary>
/// What a K3s/RKE2 node really runs, recorded with each snapshot it saves (restore modes
/// kubernetesVersion and all act on it): the runtime's version (<c>&lt;rt&gt; --version</c>) and its
/// configuration (<see cref="RuntimeConfigDocument"/>, secrets taken out). Either may be missing, with
/// the reason; the save goes on and records the plan's value instead.
/// </summary>
internal sealed record RuntimeRecord(string? Version, string? Configuration, IReadOnlyList<string> Problems)
{
    public static readonly RuntimeRecord None = new(null, null, []);

    /// <summary>Nothing for runtime etcd (its version and configuration are the plan's).</summary>
    /// <param name="quietWhenNotInstalled">A missing binary is no problem to report (the CLI run where the runtime is not installed).</param>
    public static async Task<RuntimeRecord> CaptureAsync(Contracts.V1.Runtime runtime, string binary, string configPath, ProcessRunner runner, bool quietWhenNotInstalled,
        CancellationToken cancellationToken)
    {
        if (!Config.RuntimeNaming.IsDistribution(runtime))
        {
            return None;
        }
        var problems = new List<string>();
        var (version, problem) = await RuntimeVersion.AskAsync(runner, binary, cancellationToken);
        if (problem is not null && !(quietWhenNotInstalled && !File.Exists(binary)))
        {
            problems.Add($"no runtime version recorded: {problem}");
        }
        string? configuration = null;
        try
        {
            configuration = RuntimeConfigDocument.Capture(configPath);
        }
        catch (RuntimeConfigException ex)
        {
            problems.Add($"no runtime configuration recorded: {ex.Message}");
        }
        return new RuntimeRecord(version, configuration, problems);
    }
}
