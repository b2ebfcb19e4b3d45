using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using NodeAgent.Agent.Runtime;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Plans;

/// <summary>
/// Sends ReportStatus: the checksums and the latest result of every step of the current
/// operation. A report that could not be delivered stays pending and is sent again after the
/// next successful plan request, so the server always learns how a step ended. Reports go one at a
/// time, in order. Each is bounded: a cluster configuration's text goes once (then its sha256
/// only), at most <see cref="ConfigurationBudget"/> bytes of it per report (the rest in the reports
/// that follow at once), and step outputs are cut to <see cref="TextLimit"/>. A full report (one
/// with the inventory) carries the runtime's facts as <see cref="RuntimeFactsReader"/> finds them then. A report the server
/// refuses (too large, invalid) is logged as an error and followed by a small one without the
/// inventory that carries the steps and says why, so a step result is never held back by it.
/// Every report carries the latest result of each probe; a probe result that differs from its last
/// (healthy or not, or another reason) is sent at once.
/// </summary>
internal sealed partial class StatusReporter(IPlanServerClient client, AgentIdentity identity, ILogger<StatusReporter> logger, RuntimeFactsReader? runtimeFacts = null) : IDisposable
{
    private readonly Lock _gate = new();
    // One report on the wire at a time, each built from the newest state when its turn comes: two
    // reports racing could land out of order and leave an older state (say, no applied checksum
    // yet) as the server's last word.
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly Dictionary<string, StepResult> _steps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ProbeResult> _probes = new(StringComparer.Ordinal);
    private string _operationId = "";
    private string _applied = "";
    private bool _pending;
    private SnapshotInventory? _inventory;
    // Configurations (by sha256) the server has received from this agent.
    private readonly HashSet<string> _deliveredConfigurations = new(StringComparer.Ordinal);
    private string _lastRefusal = "";

    /// <summary>Configuration text per report, in UTF-8 bytes (one larger than this still goes, alone).</summary>
    public const int ConfigurationBudget = 1024 * 1024;

    /// <summary>The most characters of a step's message and of each output tail a report carries.</summary>
    public const int TextLimit = 4096;

    /// <summary>The desired checksum the server answered last, if any.</summary>
    public string LastDesiredChecksum { get; private set; } = "";

    public Task StepAsync(StepResult result, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (result.OperationId != _operationId)
            {
                _steps.Clear();
                _operationId = result.OperationId;
            }
            _steps[result.InstructionId] = Bounded(result);
        }
        return SendAsync(cancellationToken);
    }

    public Task ChecksumsAsync(string applied, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _applied = applied;
        }
        return SendAsync(cancellationToken);
    }

    /// <summary>Sends the snapshot inventory; one not delivered goes with the next report that is.</summary>
    public Task InventoryAsync(SnapshotInventory inventory, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _inventory = inventory;
        }
        return SendAsync(cancellationToken);
    }

    /// <summary>Records a probe's result: sent at once when it differs from the probe's last, else with the next report.</summary>
    public Task ProbeAsync(ProbeResult result, CancellationToken cancellationToken)
    {
        bool changed;
        lock (_gate)
        {
            changed = !_probes.TryGetValue(result.Name, out var last) || last.Healthy != result.Healthy || last.Message != result.Message;
            _probes[result.Name] = result.Message.Length <= TextLimit ? result : new ProbeResult(result) { Message = result.Message[..(TextLimit - 3)] + "..." };
        }
        return changed ? SendAsync(cancellationToken) : Task.CompletedTask;
    }

    /// <summary>Forgets the results of probes the plan no longer has (the next report goes without them).</summary>
    public void KeepProbes(IReadOnlySet<string> names)
    {
        lock (_gate)
        {
            foreach (var gone in _probes.Keys.Where(n => !names.Contains(n)).ToList())
            {
                _probes.Remove(gone);
            }
        }
    }

    public void Dispose() => _sending.Dispose();

    public Task RetryPendingAsync(CancellationToken cancellationToken) => _pending ? SendAsync(cancellationToken) : Task.CompletedTask;

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        await _sending.WaitAsync(cancellationToken);
        try
        {
            // Another report follows at once while configuration texts wait their turn, or after a refusal.
            while (await SendNowAsync(cancellationToken))
            {
            }
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>Sends one report; true when another should follow at once.</summary>
    private async Task<bool> SendNowAsync(CancellationToken cancellationToken)
    {
        // Read before the report is built (it runs a process the first time); only a full report takes them.
        var facts = runtimeFacts is not null && Volatile.Read(ref _inventory) is not null ? await runtimeFacts.ReadAsync(cancellationToken) : null;
        ReportStatusRequest request;
        IReadOnlyCollection<string> carried = [];
        var more = false;
        lock (_gate)
        {
            request = new ReportStatusRequest
            {
                Cluster = identity.Cluster,
                Node = identity.Node,
                AppliedChecksum = _applied,
                AgentVersion = identity.AgentVersion,
            };
            request.Steps.AddRange(_steps.Values.Select(s => s.Clone()));
            request.Probes.AddRange(_probes.Values.OrderBy(p => p.Name, StringComparer.Ordinal).Select(p => p.Clone()));
            if (_inventory is not null)
            {
                (request.Inventory, carried, more) = WithConfigurations(_inventory);
            }
            if (request.Inventory is not null && facts is not null)
            {
                request.RuntimeFacts = new RuntimeFacts
                {
                    AdvertiseAddress = facts.AdvertiseAddress,
                    RuntimeVersion = facts.RuntimeVersion,
                    RuntimeSnapshotsEnabled = facts.RuntimeSnapshotsEnabled,
                };
            }
            // A report with the inventory says nothing is wrong: if it gets through, nothing is.
            request.LastReportError = request.Inventory is null ? _lastRefusal : "";
            _pending = true;
        }
        try
        {
            var reply = await client.ReportStatusAsync(request, cancellationToken);
            LastDesiredChecksum = reply.DesiredChecksum;
            lock (_gate)
            {
                _deliveredConfigurations.UnionWith(carried);
                if (request.Inventory is not null)
                {
                    _lastRefusal = "";
                    // Delivered; a newer inventory set meanwhile is still to go.
                    if (!more && SameInventory(request.Inventory))
                    {
                        _inventory = null;
                    }
                }
            }
            _pending = false;
            return more;
        }
        catch (RpcException ex) when (IsRefusal(ex))
        {
            LogReportRefused(logger, ex.StatusCode, ex.Status.Detail, request.CalculateSize());
            lock (_gate)
            {
                _lastRefusal = $"{ex.StatusCode}: {ex.Status.Detail}";
                if (request.Inventory is not null && SameInventory(request.Inventory))
                {
                    // Sent again it would be refused again; the next inventory (after a change, or
                    // within InventoryReporter.Interval) replaces it.
                    _inventory = null;
                }
            }
            // Without the inventory the next report is small: it carries the steps and the reason.
            return request.Inventory is not null;
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            // The caller cancelled (a step's progress report as the step ends): said the .NET way,
            // so a caller that stops on cancellation stops, instead of taking gRPC's status for a failure.
            // The report stays pending and goes again with the next one.
            throw new OperationCanceledException("the status report was cancelled", ex, cancellationToken);
        }
        catch (RpcException ex)
        {
            // Kept pending: sent again after the next successful plan request.
            LogReportFailed(logger, ex.StatusCode, ex.Status.Detail);
            return false;
        }
    }

    private bool SameInventory(SnapshotInventory sent) => _inventory is not null && _inventory.TakenAt.Equals(sent.TakenAt);

    /// <summary>What the server answers a report it will never take, however often it is sent.</summary>
    private static bool IsRefusal(RpcException ex) => ex.StatusCode is StatusCode.ResourceExhausted or StatusCode.InvalidArgument
        or StatusCode.OutOfRange or StatusCode.FailedPrecondition;

    /// <summary>
    /// A copy of the inventory where each configuration's text goes once, within the budget: the
    /// configurations it carries, and whether texts were left for the next report.
    /// </summary>
    private (SnapshotInventory Inventory, IReadOnlyCollection<string> Carried, bool More) WithConfigurations(SnapshotInventory inventory)
    {
        var copy = inventory.Clone();
        var carried = new HashSet<string>(StringComparer.Ordinal);
        var budget = ConfigurationBudget;
        var more = false;
        foreach (var snapshot in copy.Snapshots.Where(s => s.ClusterConfiguration.Length > 0))
        {
            if (snapshot.ClusterConfigurationSha256.Length == 0)
            {
                snapshot.ClusterConfigurationSha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(snapshot.ClusterConfiguration)));
            }
            var sha = snapshot.ClusterConfigurationSha256;
            var size = Encoding.UTF8.GetByteCount(snapshot.ClusterConfiguration);
            if (_deliveredConfigurations.Contains(sha) || carried.Contains(sha) || (carried.Count > 0 && size > budget))
            {
                more |= !_deliveredConfigurations.Contains(sha) && !carried.Contains(sha);
                snapshot.ClusterConfiguration = "";
                continue;
            }
            carried.Add(sha);
            budget -= size;
        }
        return (copy, carried, more);
    }

    private static StepResult Bounded(StepResult result)
    {
        if (result.Message.Length <= TextLimit && result.StdoutTail.Length <= TextLimit && result.StderrTail.Length <= TextLimit)
        {
            return result;
        }
        var bounded = result.Clone();
        bounded.Message = bounded.Message.Length <= TextLimit ? bounded.Message : bounded.Message[..(TextLimit - 3)] + "...";
        bounded.StdoutTail = bounded.StdoutTail.Length <= TextLimit ? bounded.StdoutTail : bounded.StdoutTail[^TextLimit..];
        bounded.StderrTail = bounded.StderrTail.Length <= TextLimit ? bounded.StderrTail : bounded.StderrTail[^TextLimit..];
        return bounded;
    }

    [LoggerMessage(EventId = 1202, Level = LogLevel.Error, Message = "Status report of {Bytes} bytes refused ({Status}: {Detail}); sending a small one without the inventory that says why")]
    private static partial void LogReportRefused(ILogger logger, StatusCode status, string detail, int bytes);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Status report not delivered ({Status}: {Detail}); it will be sent again")]
    private static partial void LogReportFailed(ILogger logger, StatusCode status, string detail);
}

/// <summary>Who this agent is.</summary>
internal sealed record AgentIdentity(string Cluster, string Node, string AgentVersion);
