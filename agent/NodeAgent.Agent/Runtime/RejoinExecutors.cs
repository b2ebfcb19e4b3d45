using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// The K3s/RKE2 rejoin steps of a restore, as Rancher's planner runs them (reference note
/// rancher-planner-and-system-agent.md §2.5–2.7): each leaves the same state however often it runs,
/// so a step interrupted by an agent restart simply runs again. A plain etcd node refuses them.
/// </summary>
internal static class RejoinSteps
{
    public static Task<StepOutcome> Run(Func<StepOutcome> step) => RuntimeSteps.GuardAsync(() => Task.FromResult(step()));
}

/// <summary><c>WriteConfigDropIn</c>: the restore's drop-in holding <c>server: "&lt;value&gt;"</c> (empty on the init node).</summary>
internal sealed class WriteConfigDropInExecutor(IRuntimeDriver driver) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.WriteConfigDropIn;

    public bool SafeToRerun => true;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => RejoinSteps.Run(() => driver.WriteConfigDropIn(instruction.WriteConfigDropIn.Server));
}

/// <summary><c>RemoveConfigDropIn</c>: the restore's drop-in goes again; none there is fine.</summary>
internal sealed class RemoveConfigDropInExecutor(IRuntimeDriver driver) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.RemoveConfigDropIn;

    public bool SafeToRerun => true;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => RejoinSteps.Run(driver.RemoveConfigDropIn);
}

/// <summary><c>RemoveServerCredentials</c>: <c>server/tls</c> and <c>server/cred</c> go; already gone is fine.</summary>
internal sealed class RemoveServerCredentialsExecutor(IRuntimeDriver driver) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.RemoveServerCredentials;

    public bool SafeToRerun => true;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => RejoinSteps.Run(driver.RemoveServerCredentials);
}
