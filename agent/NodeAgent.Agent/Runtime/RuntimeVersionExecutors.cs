using NodeAgent.Agent.Config;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Runtime;

/// <summary><c>CheckRuntimeVersion</c> (phase Started): whether this node can have the version; changes nothing.</summary>
internal sealed class CheckRuntimeVersionExecutor(RuntimeInstaller installer) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.CheckRuntimeVersion;

    public bool SafeToRerun => true;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => RuntimeSteps.GuardAsync(() => installer.CheckAsync(instruction.CheckRuntimeVersion.Version, cancellationToken));
}

/// <summary>
/// <c>InstallRuntimeVersion</c> (phase Shutdown, runtime stopped). Safe to run again although it replaces
/// the binary: the replaced binary is kept once per operation and never overwritten, the binary is
/// replaced by rename (whole or not at all), and a node already on the version succeeds at once.
/// </summary>
internal sealed class InstallRuntimeVersionExecutor(RuntimeInstaller installer) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.InstallRuntimeVersion;

    public bool SafeToRerun => true;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => RuntimeSteps.GuardAsync(() => installer.InstallAsync(instruction.InstallRuntimeVersion.Version, context.Plan.Operation?.OperationId ?? "", cancellationToken));
}

/// <summary><c>RollbackRuntimeVersion</c>: the binary this operation's install replaced, put back (the same copy each time it runs).</summary>
internal sealed class RollbackRuntimeVersionExecutor(RuntimeInstaller installer) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.RollbackRuntimeVersion;

    public bool SafeToRerun => true;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => RuntimeSteps.GuardAsync(() => installer.RollbackAsync(context.Plan.Operation?.OperationId ?? "", cancellationToken));
}

/// <summary>
/// <c>WriteRuntimeConfig</c> (restore mode all): <see cref="RuntimeConfigWriteBack"/>. Safe to run again: a
/// file already as wanted is left alone, and each write replaces a file whole.
/// </summary>
internal sealed class WriteRuntimeConfigExecutor(AgentOptions options, TimeProvider time) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.WriteRuntimeConfig;

    public bool SafeToRerun => true;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
    {
        if (!RuntimeNaming.IsDistribution(options.Runtime))
        {
            return Task.FromResult(StepOutcome.Failure($"a runtime configuration is written on k3s and rke2 nodes only; this node's runtime is {RuntimeNaming.NameOf(options.Runtime)}", retryable: false));
        }
        return RuntimeSteps.GuardAsync(() =>
        {
            try
            {
                var lines = RuntimeConfigWriteBack.Apply(options.EffectiveRuntimeConfig, instruction.WriteRuntimeConfig.Configuration, time.GetUtcNow());
                return Task.FromResult(StepOutcome.Success(lines.Count == 0 ? "the snapshot recorded no configuration files and this node has none" : string.Join("; ", lines)));
            }
            catch (RuntimeConfigException ex)
            {
                return Task.FromResult(StepOutcome.Failure(ex.Message, retryable: false));
            }
        });
    }
}
