using NodeAgent.Agent.Config;

namespace NodeAgent.Agent.Runtime;

/// <summary>What the agent finds about the K3s/RKE2 runtime on its node.</summary>
/// <param name="AdvertiseAddress"><c>advertise-address</c>, else the first <c>node-ip</c> of the runtime's config, else the host's primary address.</param>
/// <param name="RuntimeVersion"><c>&lt;runtime-binary&gt; --version</c>, e.g. "v1.30.4+k3s1"; empty when not installed or unknown.</param>
/// <param name="RuntimeSnapshotsEnabled">The runtime's config lacks <c>etcd-disable-snapshots: true</c>.</param>
internal sealed record NodeRuntimeFacts(string AdvertiseAddress, string RuntimeVersion, bool RuntimeSnapshotsEnabled);

/// <summary>
/// Reads <see cref="NodeRuntimeFacts"/> on k3s/rke2 nodes (null on plain etcd), for the registration
/// and every full status report. Never throws for what it finds: a config that cannot be read or a
/// binary that says no version is a warning in the log (once per distinct problem) and the facts go
/// without it. The runtime's own scheduled snapshots being on is a warning once per process: it and
/// NodeAgent then both prune the same name prefix in the same dir.
/// </summary>
internal sealed partial class RuntimeFactsReader(AgentOptions options, RuntimeVersion version, ILogger<RuntimeFactsReader> logger)
{
    private readonly Lock _gate = new();
    private string _lastConfigProblem = "";
    private string _lastVersionProblem = "";
    private bool _snapshotsWarned;

    /// <summary>Where the host's primary address comes from (replaceable by tests).</summary>
    internal Func<string> PrimaryAddress { get; init; } = HostAddress.Primary;

    public async Task<NodeRuntimeFacts?> ReadAsync(CancellationToken cancellationToken)
    {
        if (!RuntimeNaming.IsDistribution(options.Runtime))
        {
            return null;
        }
        var config = ReadConfig();
        var address = config?.Scalar("advertise-address") is { Length: > 0 } advertise
            ? advertise
            : config?.Values.GetValueOrDefault("node-ip") is { Count: > 0 } nodeIps ? FirstOf(nodeIps[0]) : PrimaryAddress();
        var snapshotsOn = config is not null && !config.IsTrue("etcd-disable-snapshots");
        if (snapshotsOn)
        {
            WarnSnapshotsOnce(config!.BasePath);
        }
        return new NodeRuntimeFacts(address, await VersionAsync(cancellationToken), snapshotsOn);
    }

    /// <summary>node-ip may hold "v4,v6" (dual stack) in one item: the first address is the one the runtime advertises.</summary>
    private static string FirstOf(string nodeIp) => nodeIp.Split(',', 2)[0].Trim();

    private RuntimeConfigFiles? ReadConfig()
    {
        try
        {
            var config = RuntimeConfigFiles.Read(options.EffectiveRuntimeConfig, skipDropIn: RuntimeConfigFiles.RestoreDropInName);
            Remember(ref _lastConfigProblem, "");
            return config;
        }
        catch (RuntimeConfigException ex)
        {
            if (Remember(ref _lastConfigProblem, ex.Message))
            {
                LogConfigUnreadable(logger, ex.Message);
            }
            return null;
        }
    }

    private async Task<string> VersionAsync(CancellationToken cancellationToken)
    {
        try
        {
            var found = await version.ReadAsync(options.EffectiveRuntimeBinary, cancellationToken);
            Remember(ref _lastVersionProblem, "");
            return found;
        }
        catch (Exception ex) when (ex is RuntimeVersionException or IOException or UnauthorizedAccessException)
        {
            if (Remember(ref _lastVersionProblem, ex.Message))
            {
                LogVersionUnknown(logger, ex.Message);
            }
            return "";
        }
    }

    private void WarnSnapshotsOnce(string configPath)
    {
        lock (_gate)
        {
            if (_snapshotsWarned)
            {
                return;
            }
            _snapshotsWarned = true;
        }
        LogRuntimeSnapshotsOn(logger, RuntimeNaming.NameOf(options.Runtime), configPath);
    }

    /// <summary>Sets the last problem; true when it is a new one (worth a log line).</summary>
    private bool Remember(ref string last, string problem)
    {
        lock (_gate)
        {
            if (last == problem)
            {
                return false;
            }
            last = problem;
            return problem.Length > 0;
        }
    }
}
