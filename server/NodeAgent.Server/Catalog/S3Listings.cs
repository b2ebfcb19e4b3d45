using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.S3;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Catalog;

/// <summary>
/// The plan server's own listing of each cluster's S3 folder, merged into the catalog exactly like
/// an agent's S3 listing (the cluster's S3 copies are replaced), so S3 snapshots are listed and
/// restorable while no node of the cluster is alive or registered. One listing per cluster at a
/// time (callers join the running one). Failures are kept per cluster, logged and counted; they
/// never break the catalog: its last S3 copies stay.
/// </summary>
internal sealed partial class S3Listings(
    IPlanStore plans,
    SnapshotCatalog catalog,
    IS3SnapshotFolder folder,
    S3ListingMetrics metrics,
    TimeProvider time,
    ILogger<S3Listings> logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, S3ListingState> _states = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();

    /// <summary>
    /// For a catalog request: when no listing of the cluster's current target has ended yet, lists
    /// now (or joins the listing under way) and waits for it up to the target's timeout and a
    /// second (the listing goes on after that; a later request sees it). Returns how the listing stands; null without an S3 target.
    /// </summary>
    public async Task<S3ListingStatus?> EnsureListedAsync(string cluster, CancellationToken cancellationToken)
    {
        if (await TargetOfAsync(cluster, cancellationToken) is not { } target)
        {
            return null;
        }
        var state = _states.GetValueOrDefault(cluster);
        if (state is null || state.Fingerprint != target.Fingerprint || !state.HasOutcome)
        {
            var listing = Start(cluster, target);
            try
            {
                // A second over the timeout: a listing whose first request hangs ends by then with its timeout error.
                await listing.WaitAsync(target.Timeout + TimeSpan.FromSeconds(1), time, cancellationToken);
            }
            catch (TimeoutException)
            {
                LogStillListing(logger, cluster, target.ToString(), target.Timeout);
                var status = Status(cluster, target);
                if (status.ListedAt is null && status.Error.Length == 0)
                {
                    // Slow, not failed (yet): say so rather than show an empty catalog as if it were all.
                    status.Error = $"listing {target} did not finish within {S3ErrorText.Format(target.Timeout)} (s3.timeout) and goes on; the S3 copies will show when it ends";
                }
                return status;
            }
        }
        return Status(cluster, target);
    }

    /// <summary>How the listing of <paramref name="cluster"/> stands; null without an S3 target.</summary>
    public async Task<S3ListingStatus?> StatusAsync(string cluster, CancellationToken cancellationToken)
        => await TargetOfAsync(cluster, cancellationToken) is { } target ? Status(cluster, target) : null;

    /// <summary>Lists the cluster's folder now (or joins the listing under way) and waits for it.</summary>
    public async Task RefreshAsync(string cluster, CancellationToken cancellationToken)
    {
        if (await TargetOfAsync(cluster, cancellationToken) is { } target)
        {
            await Start(cluster, target).WaitAsync(cancellationToken);
        }
        else
        {
            _states.TryRemove(cluster, out _);
        }
    }

    /// <summary>Every cluster with an S3 target, side by side (the schedule). A store failure is logged; the next round tries again.</summary>
    public async Task RefreshAllAsync(CancellationToken cancellationToken)
    {
        try
        {
            var clusters = await plans.ListClustersAsync(cancellationToken);
            await Task.WhenAll(clusters.Select(c => RefreshAsync(c.Name, cancellationToken)));
        }
        catch (Exception ex) when (ex is Errors.DomainException or Microsoft.Data.Sqlite.SqliteException or Errors.StoreUnavailableException or Errors.StoreConflictException)
        {
            LogRoundFailed(logger, ex.Message);
        }
    }

    /// <summary>Stops the listings under way and waits for them, so none outlives the server.</summary>
    public async Task StopAsync()
    {
        await _stopping.CancelAsync();
        Task[] running;
        lock (_gate)
        {
            running = _states.Values.Select(s => s.Running).OfType<Task>().ToArray();
        }
        await Task.WhenAll(running);
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private async Task<S3Target?> TargetOfAsync(string cluster, CancellationToken cancellationToken)
        => S3Target.Of((await plans.GetClusterAsync(cluster, cancellationToken))?.SnapshotSettings);

    /// <summary>The running listing of this target, or a new one. Its task never faults: the outcome goes into the state.</summary>
    private Task Start(string cluster, S3Target target)
    {
        lock (_gate)
        {
            var state = _states.GetValueOrDefault(cluster);
            if (state?.Running is { IsCompleted: false } running && state.Fingerprint == target.Fingerprint)
            {
                return running;
            }
            var next = state is not null && state.Fingerprint == target.Fingerprint ? state : new S3ListingState(target.Fingerprint, target.ToString());
            _states[cluster] = next;
            next.Running = ListAsync(cluster, target, next);
            return next.Running;
        }
    }

    private async Task ListAsync(string cluster, S3Target target, S3ListingState state)
    {
        await Task.Yield();
        var cancellationToken = _stopping.Token;
        try
        {
            var objects = await folder.ListAsync(target, cancellationToken);
            // The target may have changed (or the cluster gone) while S3 answered: then this listing is of the old folder.
            if (!ReferenceEquals(_states.GetValueOrDefault(cluster), state)
                || (await TargetOfAsync(cluster, cancellationToken))?.Fingerprint != target.Fingerprint)
            {
                return;
            }
            var inventory = new SnapshotInventory { TakenAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()), S3Listed = true };
            inventory.Snapshots.AddRange(objects.Select(o => S3SnapshotMapping.ToSnapshot(o, target)));
            // As an agent's S3 listing, reported by no node: the cluster's S3 copies are replaced.
            await catalog.ReportInventoryAsync(cluster, "", inventory, cancellationToken);
            state.Succeeded(time.GetUtcNow(), objects.Count);
            metrics.Succeeded(cluster, time.GetUtcNow());
            LogListed(logger, cluster, state.Target, objects.Count);
        }
        catch (S3ListingException ex)
        {
            state.Failed(time.GetUtcNow(), ex.Message);
            metrics.Failed(cluster);
            LogListFailed(logger, cluster, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The server stops.
        }
        catch (Exception ex) when (ex is Errors.DomainException or Microsoft.Data.Sqlite.SqliteException or Errors.StoreUnavailableException or Errors.StoreConflictException)
        {
            // The cluster went away meanwhile, or the store failed: shown like an S3 failure.
            var message = $"the catalog could not take the listing of {target}: {ex.Message}";
            state.Failed(time.GetUtcNow(), message);
            metrics.Failed(cluster);
            LogListFailed(logger, cluster, message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug, not S3: reported like a failure (and logged with its stack) instead of stopping
            // the schedule, and with it the server, whose host stops when a background service throws.
            state.Failed(time.GetUtcNow(), $"listing {target} failed unexpectedly: {ex.Message}");
            metrics.Failed(cluster);
            LogListCrashed(logger, ex, cluster);
        }
    }

    private S3ListingStatus Status(string cluster, S3Target target)
    {
        var status = new S3ListingStatus { Target = target.ToString() };
        if (_states.GetValueOrDefault(cluster) is { } state && state.Fingerprint == target.Fingerprint)
        {
            state.CopyTo(status);
        }
        return status;
    }
}
