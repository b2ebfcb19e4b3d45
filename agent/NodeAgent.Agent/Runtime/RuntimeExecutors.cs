using System.Globalization;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Steps;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Runtime;

/// <summary>Turns what a driver could not do at all (a command that would not start, a file system error) into a step failure.</summary>
internal static class RuntimeSteps
{
    public static async Task<StepOutcome> GuardAsync(Func<Task<StepOutcome>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception ex) when (ex is CommandStartException or IOException or UnauthorizedAccessException)
        {
            return StepOutcome.Failure(ex.Message, retryable: false);
        }
    }

    public static string Describe(EtcdMemberStatus status) => string.Create(CultureInfo.InvariantCulture,
        $"etcd member {status.MemberId:x} at {status.Endpoint.GetLeftPart(UriPartial.Authority)} answers (version {status.Version}, revision {status.Revision}, db {status.DbSizeBytes} bytes{(status.IsLearner ? ", learner" : "")})");
}

/// <summary><c>RunKillall</c>: the runtime's killall (k3s/rke2), or the stop command (etcd). Idempotent, so it may run again.</summary>
internal sealed class RunKillallExecutor(IRuntimeDriver driver) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.RunKillall;

    public bool SafeToRerun => true;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => RuntimeSteps.GuardAsync(() => driver.KillallAsync(cancellationToken));
}

/// <summary>
/// <c>StartRuntime</c>: the start command, then until the deadline for the local etcd to answer
/// Status (a learner answers too: a member that rejoins starts as one). A member of a plain etcd
/// cluster answers only once a quorum of members runs, so the members start in the same phase.
/// A node without the etcd role (<c>skip_etcd_wait</c>) has no local etcd to wait for. With
/// <c>restart</c> (k3s/rke2: the final pass of a restore) the service's restart command runs instead.
/// </summary>
internal sealed class StartRuntimeExecutor(IRuntimeDriver driver, EtcdHealth health) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.StartRuntime;

    public bool SafeToRerun => true;

    public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
    {
        var started = await RuntimeSteps.GuardAsync(() => instruction.StartRuntime.Restart ? driver.RestartAsync(cancellationToken) : driver.StartAsync(cancellationToken));
        if (!started.Succeeded || instruction.StartRuntime.SkipEtcdWait)
        {
            return started;
        }
        var status = await health.WaitAsync(voter: false, cancellationToken);
        return started with { Message = $"{started.Message}; {RuntimeSteps.Describe(status)}" };
    }
}

/// <summary>
/// <c>RemoveEtcdData</c>: k3s/rke2 tombstone (only the tombstone file: tls/cred go with <c>RemoveServerCredentials</c>) or the data moved aside; etcd: the data
/// dir moved aside. Destructive: never run again after an interruption, never retried.
/// </summary>
internal sealed class RemoveEtcdDataExecutor(IRuntimeDriver driver) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.RemoveEtcdData;

    public bool SafeToRerun => false;

    public Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => RuntimeSteps.GuardAsync(() => driver.RemoveEtcdDataAsync(instruction.RemoveEtcdData.Tombstone, cancellationToken));
}

/// <summary><c>WaitHealthy</c>: polls until the local member answers Status as a voter; the deadline's failure names the endpoint and the last error.</summary>
internal sealed class WaitHealthyExecutor(EtcdHealth health) : IInstructionExecutor
{
    public Instruction.KindOneofCase Kind => Instruction.KindOneofCase.WaitHealthy;

    public bool SafeToRerun => true;

    public async Task<StepOutcome> ExecuteAsync(Instruction instruction, StepContext context, CancellationToken cancellationToken)
        => StepOutcome.Success(RuntimeSteps.Describe(await health.WaitAsync(voter: true, cancellationToken)) + " as a voter");
}
