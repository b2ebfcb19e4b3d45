using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Snapshots.Daemon;

/// <summary>
/// Tells the plan server which snapshots this node has: its local ones and, when the target names
/// S3, what the folder holds. Sent after every change (coalesced: changes made while one report is
/// being built go into the next) and every <see cref="Interval"/>, so files added or removed by
/// hand or by K3s show up too.
/// </summary>
internal sealed partial class InventoryReporter(
    SnapshotTargets targets,
    StatusReporter reporter,
    AgentIdentity identity,
    TimeProvider time,
    ILogger<InventoryReporter> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    /// <summary>The most snapshot copies one inventory reports (the newest), so a report stays bounded.</summary>
    public const int MaxSnapshots = 1000;

    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Something changed: report soon.</summary>
    public void Changed() => _changes.Writer.TryWrite(true);

    /// <summary>The inventory as it is now; null without a usable target.</summary>
    public async Task<SnapshotInventory?> BuildAsync(CancellationToken cancellationToken)
    {
        if (targets.Target is not { } target)
        {
            return null;
        }
        var inventory = new SnapshotInventory { TakenAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()) };
        var local = new LocalSnapshotStore(target.Directory, identity.Node);
        if (Directory.Exists(local.Directory))
        {
            inventory.Snapshots.AddRange(local.List().Select(s => Local(s, identity.Node)));
        }
        using var s3 = targets.AcquireS3();
        if (s3 is not null)
        {
            try
            {
                var bucket = s3.Store.Bucket;
                string[] prefixes = [SnapshotNames.OnDemandPrefix, SnapshotNames.RecurringPrefix, target.Schedule?.NamePrefix ?? ""];
                inventory.Snapshots.AddRange((await s3.Store.ListAsync(cancellationToken)).Select(o => Remote(o, bucket, prefixes)));
                inventory.S3Listed = true;
            }
            catch (S3TargetException ex)
            {
                // The local copies are still worth reporting; the catalog keeps its S3 copies.
                LogS3ListFailed(logger, ex.Message);
            }
        }
        if (inventory.Snapshots.Count > MaxSnapshots)
        {
            var newest = inventory.Snapshots.OrderByDescending(s => s.CreatedAt).Take(MaxSnapshots).ToList();
            LogInventoryCapped(logger, inventory.Snapshots.Count, MaxSnapshots);
            inventory.Snapshots.Clear();
            inventory.Snapshots.AddRange(newest);
        }
        return inventory;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        targets.Changed += Changed;
        using var timer = new PeriodicTimer(Interval, time);
        var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var change = _changes.Reader.WaitToReadAsync(stoppingToken).AsTask();
                var woke = await Task.WhenAny(tick, change);
                if (woke == tick)
                {
                    await tick;
                    tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
                }
                else
                {
                    await change;
                    _changes.Reader.TryRead(out _);
                }
                await ReportAsync(stoppingToken);
            }
        }
        catch (Exception ex) when (stoppingToken.IsCancellationRequested && ex is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled })
        {
            // Stopping, possibly while a report was on the wire.
        }
        finally
        {
            targets.Changed -= Changed;
        }
    }

    private async Task ReportAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (await BuildAsync(cancellationToken) is { } inventory)
            {
                await reporter.InventoryAsync(inventory, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or SnapshotRequestException)
        {
            LogBuildFailed(logger, ex.Message);
        }
    }

    private static Snapshot Local(SnapshotListing s, string node)
    {
        var m = s.Metadata;
        // Failed, or cut short by a stop: either way only the local copy exists until a later save uploads it.
        var uploadFailed = m?.S3Upload.NeedsUpload == true;
        var snapshot = new Snapshot
        {
            Name = s.Name,
            Node = node,
            Storage = StorageKind.Local,
            Location = s.Location,
            Size = s.Size,
            CreatedAt = Timestamp.FromDateTimeOffset(s.CreatedAt),
            Compressed = s.Compressed,
            Sha256 = s.Sha256,
            Status = s.Status == SnapshotMetadata.Failed ? SnapshotStatus.Failed : uploadFailed ? SnapshotStatus.UploadFailed : SnapshotStatus.Successful,
            Message = uploadFailed ? m!.S3Upload.ToString() : m?.Message ?? "",
        };
        return WithFacts(snapshot, m, s.RuntimeMetadata);
    }

    /// <summary>An S3 copy; without our sidecar (K3s's upload), its node from K3s's object metadata, else from its name.</summary>
    private static Snapshot Remote(S3SnapshotObject o, string bucket, IEnumerable<string> prefixes)
    {
        var snapshot = new Snapshot
        {
            Name = o.Name,
            Node = o.NodeName.Length > 0 || o.Metadata is not null ? o.NodeName : SnapshotNames.NodeFromName(o.Name, prefixes),
            Storage = StorageKind.S3,
            Location = o.Location(bucket),
            Size = o.Size,
            CreatedAt = Timestamp.FromDateTimeOffset(o.Metadata?.CreatedAt ?? SnapshotNames.CreatedFromName(o.Name) ?? o.LastModified),
            Compressed = o.Name.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal),
            Sha256 = o.Metadata?.Sha256 ?? "",
            Status = SnapshotStatus.Successful,
            TokenHash = o.TokenHash,
        };
        return WithFacts(snapshot, o.Metadata, o.RuntimeMetadata);
    }

    /// <summary>What our sidecar records; without one, the snapshot says so and K3s's sidecar gives what it has (Rancher's Kubernetes version).</summary>
    private static Snapshot WithFacts(Snapshot snapshot, SnapshotMetadata? m, RuntimeSnapshotMetadata? runtime)
    {
        if (m is null)
        {
            snapshot.WithoutSidecar = true;
            snapshot.KubernetesVersion = runtime?.KubernetesVersion ?? "";
            return snapshot;
        }
        snapshot.Cluster = m.Cluster;
        snapshot.EtcdRevision = m.EtcdRevision;
        snapshot.EtcdVersion = m.EtcdVersion;
        snapshot.Runtime = RuntimeNames.Parse(m.Runtime);
        snapshot.KubernetesVersion = m.KubernetesVersion;
        snapshot.ClusterConfiguration = m.ClusterConfig;
        snapshot.TokenHash = m.TokenHash;
        return snapshot;
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Could not list S3 for the snapshot inventory: {Reason}; reporting the local snapshots only")]
    private static partial void LogS3ListFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "This node has {Count} snapshot copies; the inventory reports the newest {Max} (prune the rest)")]
    private static partial void LogInventoryCapped(ILogger logger, int count, int max);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Could not build the snapshot inventory: {Reason}")]
    private static partial void LogBuildFailed(ILogger logger, string reason);
}
