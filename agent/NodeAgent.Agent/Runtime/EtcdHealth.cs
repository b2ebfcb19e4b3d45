using System.Globalization;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// Whether the local etcd member answers Status (and is a voter), asked once or polled with a
/// short backoff on the injected clock until the step's deadline. A fresh client per ask: the
/// runtime may be rewriting its certificates (K3s regenerates <c>server/tls</c> after a restore).
/// </summary>
internal sealed partial class EtcdHealth(Func<IEtcdMaintenance> connect, EtcdConnectionOptions connection, TimeProvider time, ILogger<EtcdHealth> logger)
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(250);
    // A Status call to the local member is cheap: poll at least every second, so a restart is seen within a
    // second of etcd answering (a 5 s cap saw a member healthy at 2.0 s only at 3.75 s).
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LeaderPoll = TimeSpan.FromMilliseconds(200);

    public string Endpoints => string.Join(",", connection.Endpoints.Select(e => e.GetLeftPart(UriPartial.Authority)));

    /// <summary>One Status call: the member's status, or why there is none.</summary>
    public async Task<(EtcdMemberStatus? Status, string? Error)> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var etcd = connect();
            return (await etcd.StatusAsync(cancellationToken), null);
        }
        catch (Exception ex) when (ex is EtcdUnavailableException or EtcdRequestException or IOException or System.Security.Cryptography.CryptographicException)
        {
            return (null, ex.Message);
        }
    }

    /// <summary>Polls until the member answers and, with <paramref name="voter"/>, is no learner.</summary>
    /// <exception cref="StepCancelledException">The deadline came first; the message names the endpoint and the last error.</exception>
    public async Task<EtcdMemberStatus> WaitAsync(bool voter, CancellationToken cancellationToken)
    {
        var backoff = FirstBackoff;
        string? last = null;
        try
        {
            while (true)
            {
                var (status, error) = await ProbeAsync(cancellationToken);
                if (status is not null && (!voter || !status.IsLearner))
                {
                    return status;
                }
                last = status is null ? error : $"member {status.MemberId:x} at {status.Endpoint.GetLeftPart(UriPartial.Authority)} is still a learner";
                LogNotYet(logger, Endpoints, last!);
                await Task.Delay(backoff, time, cancellationToken);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new StepCancelledException(
                $"etcd at {Endpoints} did not become {(voter ? "healthy (answering Status as a voter)" : "reachable")}; last error: {last ?? "none (not asked yet)"}",
                cancellationToken);
        }
    }

    /// <summary>
    /// When the local member leads a cluster of several members: polls until it no longer leads (its
    /// peers stopped, and etcd steps a leader without a quorum down within an election timeout or
    /// two) or <paramref name="bound"/> passes. Returns how the stop came, for the step's message; null when
    /// it did not lead, led alone or did not answer (nothing to wait for).
    /// </summary>
    public async Task<string?> WaitForPeersToStopAsync(TimeSpan bound, CancellationToken cancellationToken)
    {
        EtcdMemberStatus status;
        int members;
        try
        {
            using var etcd = connect();
            status = await etcd.StatusAsync(cancellationToken);
            if (!status.IsLeader)
            {
                return null;
            }
            members = await etcd.MemberCountAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is EtcdUnavailableException or EtcdRequestException or IOException or System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
        if (members <= 1)
        {
            return null;
        }
        LogLeaderWaits(logger, status.MemberId, members, bound);
        var started = time.GetTimestamp();
        while (time.GetElapsedTime(started) < bound)
        {
            await Task.Delay(LeaderPoll, time, cancellationToken);
            if ((await ProbeAsync(cancellationToken)).Status is not { IsLeader: true })
            {
                return string.Create(CultureInfo.InvariantCulture,
                    $"after its peers: member {status.MemberId:x} led the cluster of {members} members (a leader stopped first hands its leadership to a peer, and waits seconds for one that is stopping too)");
            }
        }
        return string.Create(CultureInfo.InvariantCulture,
            $"while member {status.MemberId:x} still led the cluster of {members} members, after {bound.TotalSeconds:0} s of waiting for its peers to stop first");
    }

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information, Message = "etcd member {MemberId:x} leads the cluster of {Members} members: waiting for its peers to stop first (at most {Bound})")]
    private static partial void LogLeaderWaits(ILogger logger, ulong memberId, int members, TimeSpan bound);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Debug, Message = "etcd at {Endpoints} not ready yet: {Reason}")]
    private static partial void LogNotYet(ILogger logger, string endpoints, string reason);
}
