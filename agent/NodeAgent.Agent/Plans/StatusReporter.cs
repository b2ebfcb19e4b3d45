using Grpc.Core;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Plans;

/// <summary>
/// Sends ReportStatus: the checksums and the latest result of every step of the current
/// operation. A report that could not be delivered stays pending and is sent again after the
/// next successful plan request, so the server always learns how a step ended. Reports go one at a
/// time, in order.
/// </summary>
internal sealed partial class StatusReporter(IPlanServerClient client, AgentIdentity identity, ILogger<StatusReporter> logger) : IDisposable
{
    private readonly Lock _gate = new();
    // One report on the wire at a time, each built from the newest state when its turn comes: two
    // reports racing could land out of order and leave an older state (say, no applied checksum
    // yet) as the server's last word.
    private readonly SemaphoreSlim _sending = new(1, 1);
    private readonly Dictionary<string, StepResult> _steps = new(StringComparer.Ordinal);
    private string _operationId = "";
    private string _applied = "";
    private string _current = "";
    private bool _pending;
    private SnapshotInventory? _inventory;

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
            _steps[result.InstructionId] = result;
        }
        return SendAsync(cancellationToken);
    }

    public Task ChecksumsAsync(string applied, string current, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _applied = applied;
            _current = current;
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

    public void Dispose() => _sending.Dispose();

    public Task RetryPendingAsync(CancellationToken cancellationToken) => _pending ? SendAsync(cancellationToken) : Task.CompletedTask;

    private async Task SendAsync(CancellationToken cancellationToken)
    {
        await _sending.WaitAsync(cancellationToken);
        try
        {
            await SendNowAsync(cancellationToken);
        }
        finally
        {
            _sending.Release();
        }
    }

    private async Task SendNowAsync(CancellationToken cancellationToken)
    {
        ReportStatusRequest request;
        lock (_gate)
        {
            request = new ReportStatusRequest
            {
                Cluster = identity.Cluster,
                Node = identity.Node,
                AppliedChecksum = _applied,
                CurrentChecksum = _current,
                AgentVersion = identity.AgentVersion,
            };
            request.Steps.AddRange(_steps.Values.Select(s => s.Clone()));
            request.Inventory = _inventory?.Clone();
            _pending = true;
        }
        try
        {
            var reply = await client.ReportStatusAsync(request, cancellationToken);
            LastDesiredChecksum = reply.DesiredChecksum;
            lock (_gate)
            {
                // Delivered; a newer inventory set meanwhile is still to go.
                if (request.Inventory is not null && _inventory is not null && _inventory.TakenAt.Equals(request.Inventory.TakenAt))
                {
                    _inventory = null;
                }
            }
            _pending = false;
        }
        catch (RpcException ex) when (ex.StatusCode is not StatusCode.Cancelled || !cancellationToken.IsCancellationRequested)
        {
            // Kept pending: sent again after the next successful plan request.
            LogReportFailed(logger, ex.StatusCode, ex.Status.Detail);
        }
    }

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Status report not delivered ({Status}: {Detail}); it will be sent again")]
    private static partial void LogReportFailed(ILogger logger, StatusCode status, string detail);
}

/// <summary>Who this agent is.</summary>
internal sealed record AgentIdentity(string Cluster, string Node, string AgentVersion);
