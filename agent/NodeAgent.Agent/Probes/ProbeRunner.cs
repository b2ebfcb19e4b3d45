using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Plans;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Probes;

/// <summary>
/// Runs the probes of the plan's steady state, each on its own interval (the first check at once)
/// and with its own timeout, on the injected clock. Every result goes to the
/// <see cref="StatusReporter"/>: one that differs from the probe's last (healthy or not, or another
/// reason) is reported at once, the others ride along with the next report. A new plan with other
/// probes stops the old checks and starts the new ones; a plan with the same probes changes nothing.
/// </summary>
internal sealed partial class ProbeRunner(
    ProbeChecks checks,
    StatusReporter reporter,
    AgentMetrics metrics,
    TimeProvider time,
    ILogger<ProbeRunner> logger) : BackgroundService, ISteadyStateHandler
{
    /// <summary>Used when a probe names no interval.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(30);

    /// <summary>Used when a probe names no timeout.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    private readonly Channel<Probe[]> _plans = Channel.CreateBounded<Probe[]>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
    private Probe[] _applied = [];

    /// <summary>Takes the plan's probes; the checks change only when the probes do.</summary>
    public Task ApplyAsync(SteadyStatePlan steadyState, CancellationToken cancellationToken)
    {
        var probes = steadyState.Probes.Select(p => p.Clone()).ToArray();
        if (!probes.SequenceEqual(_applied))
        {
            _applied = probes;
            _plans.Writer.TryWrite(probes);
        }
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        Probe[] probes = [];
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                reporter.KeepProbes(probes.Select(p => p.Name).ToHashSet(StringComparer.Ordinal));
                using var round = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                var loops = probes.Select(p => LoopAsync(p, round.Token)).ToList();
                try
                {
                    probes = await _plans.Reader.ReadAsync(stoppingToken);
                }
                finally
                {
                    await round.CancelAsync();
                    await Task.WhenAll(loops);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Runs one probe once within its timeout: its result, unhealthy with the reason when it failed or did not answer in time.</summary>
    public async Task<ProbeResult> CheckAsync(Probe probe, CancellationToken cancellationToken)
    {
        var timeout = Positive(probe.Timeout, DefaultTimeout);
        using var deadline = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        string? failure;
        try
        {
            // WaitAsync bounds a check that does not heed its token too.
            failure = await checks.CheckAsync(probe, linked.Token).WaitAsync(timeout, time, cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is TimeoutException or OperationCanceledException)
        {
            failure = $"no answer within {timeout.TotalSeconds:0.###}s";
        }
        var result = new ProbeResult
        {
            Name = probe.Name,
            Healthy = failure is null,
            Message = failure ?? "",
            CheckedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
        };
        metrics.ProbeChecked(probe.Name, result.Healthy);
        return result;
    }

    private async Task LoopAsync(Probe probe, CancellationToken cancellationToken)
    {
        var was = (bool?)null;
        try
        {
            using var timer = new PeriodicTimer(Positive(probe.Interval, DefaultInterval), time);
            do
            {
                var result = await CheckAsync(probe, cancellationToken);
                if (result.Healthy != was)
                {
                    if (result.Healthy)
                    {
                        LogHealthy(logger, probe.Name);
                    }
                    else
                    {
                        LogUnhealthy(logger, probe.Name, result.Message);
                    }
                    was = result.Healthy;
                }
                await reporter.ProbeAsync(result, cancellationToken);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // The plan's probes changed, or the agent stops (possibly while a report was on the wire).
        }
    }

    private static TimeSpan Positive(Duration? duration, TimeSpan fallback)
        => duration?.ToTimeSpan() is { } value && value > TimeSpan.Zero ? value : fallback;
}
