using System.Runtime.InteropServices;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Files;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// Restore modes <c>kubernetesVersion</c> and <c>all</c> on a K3s/RKE2 node: whether a runtime version
/// can be had, installing it while the runtime is stopped, and putting back what was there.
/// <list type="bullet">
/// <item>Source: with <c>runtime-versions-dir</c> (air gap) only <c>&lt;dir&gt;/&lt;version&gt;/&lt;rt&gt;</c>, copied over the
/// runtime binary (temp + rename, 0755); else <c>runtime-install-command</c> (default the distribution's install
/// script) with <c>INSTALL_&lt;RT&gt;_VERSION</c>, <c>INSTALL_&lt;RT&gt;_SKIP_START=true</c>, <c>INSTALL_&lt;RT&gt;_SKIP_ENABLE=true</c>
/// and the node's kind (<c>INSTALL_K3S_EXEC</c> / <c>INSTALL_RKE2_TYPE</c> = server or agent) in its environment.</item>
/// <item>The binary an install replaces is kept once per operation in <c>&lt;state-dir&gt;/runtime-rollback/&lt;operation&gt;/</c>
/// (never overwritten by a rerun, so it is always what ran before); a rollback copies it back.</item>
/// <item>Every result is checked with <c>&lt;rt&gt; --version</c>. All three are idempotent: a node already on the version
/// succeeds at once, and a rerun after an interruption ends in the same state.</item>
/// </list>
/// </summary>
internal sealed class RuntimeInstaller(AgentOptions options, ProcessRunner runner)
{
    public const int KeptOperations = 3;

    /// <summary>k3s or rke2: the binary's file name.</summary>
    private string Rt => RuntimeNaming.NameOf(options.Runtime);

    private string Binary => options.EffectiveRuntimeBinary;

    private string VersionVariable => $"INSTALL_{RuntimeNaming.VariablePrefix(options.Runtime)}_VERSION";

    /// <summary>The default check: a HEAD of the release's checksum list for this machine's architecture.</summary>
    public static string DefaultCheckCommand(Contracts.V1.Runtime runtime) => runtime == Contracts.V1.Runtime.Rke2
        ? $"curl -fsSIL -o /dev/null \"https://github.com/rancher/rke2/releases/download/$INSTALL_RKE2_VERSION/sha256sum-{Architecture}.txt\""
        : $"curl -fsSIL -o /dev/null \"https://github.com/k3s-io/k3s/releases/download/$INSTALL_K3S_VERSION/sha256sum-{Architecture}.txt\"";

    public static string DefaultInstallCommand(Contracts.V1.Runtime runtime) => runtime == Contracts.V1.Runtime.Rke2 ? "curl -sfL https://get.rke2.io | sh -" : "curl -sfL https://get.k3s.io | sh -";

    private static string Architecture => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        _ => "amd64",
    };

    public async Task<StepOutcome> CheckAsync(string version, CancellationToken cancellationToken)
    {
        if (Refusal(version) is { } refused)
        {
            return refused;
        }
        var (current, _) = await RuntimeVersion.AskAsync(runner, Binary, cancellationToken);
        if (current == version)
        {
            return StepOutcome.Success($"{Binary} already runs {version}");
        }
        if (options.RuntimeVersionsDir.Length > 0)
        {
            var airGap = AirGapBinary(version);
            if (!File.Exists(airGap))
            {
                return StepOutcome.Failure($"{version} cannot be had: {airGap} does not exist (runtime-versions-dir)", retryable: false);
            }
            var (offered, problem) = await RuntimeVersion.AskAsync(runner, airGap, cancellationToken);
            return offered == version
                ? StepOutcome.Success($"{version} can be installed from {airGap} (this node runs {current ?? "no " + Rt})")
                : StepOutcome.Failure($"{version} cannot be had: {airGap} reports {offered ?? problem}", retryable: false);
        }
        var command = options.RuntimeVersionCheckCommand.Length > 0 ? options.RuntimeVersionCheckCommand : DefaultCheckCommand(options.Runtime);
        var result = await runner.RunAsync(CommandSpec.Shell(command) with { Environment = new Dictionary<string, string>(StringComparer.Ordinal) { [VersionVariable] = version } }, cancellationToken);
        var outcome = result.ToOutcome($"{version} can be installed ({VersionVariable}={version} {command} succeeded; this node runs {current ?? "no " + Rt})", retryable: true);
        return result.Succeeded ? outcome : outcome with { Message = $"{version} cannot be had: {outcome.Message}" };
    }

    public async Task<StepOutcome> InstallAsync(string version, string operationId, CancellationToken cancellationToken)
    {
        if (Refusal(version) is { } refused)
        {
            return refused;
        }
        var (current, _) = await RuntimeVersion.AskAsync(runner, Binary, cancellationToken);
        if (current == version)
        {
            return StepOutcome.Success($"{Binary} already runs {version}");
        }
        var kept = KeptBinary(operationId);
        var keptNote = "";
        if (!File.Exists(kept) && File.Exists(Binary))
        {
            LinuxFiles.CreatePrivateDirectory(Path.GetDirectoryName(kept)!);
            await RuntimeFiles.CopyAsync(Binary, kept, RuntimeFiles.Executable, cancellationToken);
            PruneKept(operationId);
            keptNote = $"; {Binary} ({current ?? "version unknown"}) kept as {kept} for a rollback";
        }
        StepOutcome installed;
        if (options.RuntimeVersionsDir.Length > 0)
        {
            var airGap = AirGapBinary(version);
            if (!File.Exists(airGap))
            {
                return StepOutcome.Failure($"cannot install {version}: {airGap} does not exist (runtime-versions-dir)", retryable: false);
            }
            Directory.CreateDirectory(Path.GetDirectoryName(Binary)!, RuntimeFiles.Executable);
            await RuntimeFiles.CopyAsync(airGap, Binary, RuntimeFiles.Executable, cancellationToken);
            installed = StepOutcome.Success($"copied {airGap} to {Binary}");
        }
        else
        {
            var command = options.RuntimeInstallCommand.Length > 0 ? options.RuntimeInstallCommand : DefaultInstallCommand(options.Runtime);
            var result = await runner.RunAsync(CommandSpec.Shell(command) with { Environment = InstallEnvironment(version) }, cancellationToken);
            if (!result.Succeeded)
            {
                var failed = result.ToOutcome("", retryable: true);
                return failed with { Message = $"installing {version} failed: {failed.Message}{keptNote}" };
            }
            installed = result.ToOutcome($"{VersionVariable}={version} {command}", retryable: true);
        }
        var (now, problem) = await RuntimeVersion.AskAsync(runner, Binary, cancellationToken);
        return now == version
            ? installed with { Message = $"installed {version}: {installed.Message}; {Binary} --version says {version}{keptNote}" }
            : StepOutcome.Failure($"installed {version}, but {Binary} --version says {now ?? problem}{keptNote}", retryable: false);
    }

    public async Task<StepOutcome> RollbackAsync(string operationId, CancellationToken cancellationToken)
    {
        var kept = KeptBinary(operationId);
        if (!File.Exists(kept))
        {
            return StepOutcome.Success($"no runtime install replaced {Binary} in this operation: nothing to roll back");
        }
        await RuntimeFiles.CopyAsync(kept, Binary, RuntimeFiles.Executable, cancellationToken);
        var (now, problem) = await RuntimeVersion.AskAsync(runner, Binary, cancellationToken);
        return now is not null
            ? StepOutcome.Success($"put back {Binary} from {kept}: {Binary} --version says {now}")
            : StepOutcome.Failure($"put back {Binary} from {kept}, but its --version does not answer: {problem}", retryable: false);
    }

    private StepOutcome? Refusal(string version)
    {
        if (!RuntimeNaming.IsDistribution(options.Runtime))
        {
            return StepOutcome.Failure($"runtime versions are installed on k3s and rke2 nodes only; this node's runtime is {Rt}", retryable: false);
        }
        return RuntimeVersion.IsValid(version)
            ? null
            : StepOutcome.Failure($"\"{version}\" is not a runtime version (v<major>.<minor>.<patch>…, e.g. v1.30.4+{(options.Runtime == Contracts.V1.Runtime.Rke2 ? "rke2r1" : "k3s1")})", retryable: false);
    }

    private string AirGapBinary(string version) => Path.Combine(options.RuntimeVersionsDir, version, Rt);

    private Dictionary<string, string> InstallEnvironment(string version)
    {
        var prefix = $"INSTALL_{RuntimeNaming.VariablePrefix(options.Runtime)}_";
        var server = options.Roles.Contains("etcd") || options.Roles.Contains("control-plane");
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [prefix + "VERSION"] = version,
            [prefix + "SKIP_START"] = "true",
            [prefix + "SKIP_ENABLE"] = "true",
            [options.Runtime == Contracts.V1.Runtime.Rke2 ? "INSTALL_RKE2_TYPE" : "INSTALL_K3S_EXEC"] = server ? "server" : "agent",
        };
    }

    private string RollbackDir => Path.Combine(options.StateDir, "runtime-rollback");

    private string KeptBinary(string operationId)
        => Path.Combine(RollbackDir, string.Concat(operationId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_')) is { Length: > 0 } op and not "." and not ".." ? op : "no-operation", Rt);

    /// <summary>Binaries kept by older operations: the newest few stay.</summary>
    private void PruneKept(string operationId)
    {
        var own = Path.GetDirectoryName(KeptBinary(operationId));
        foreach (var old in new DirectoryInfo(RollbackDir).GetDirectories().Where(d => d.FullName != own).OrderByDescending(d => d.LastWriteTimeUtc).Skip(KeptOperations - 1))
        {
            old.Delete(recursive: true);
        }
    }
}
