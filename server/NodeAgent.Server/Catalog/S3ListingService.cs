namespace NodeAgent.Server.Catalog;

/// <summary>
/// Lists every cluster's S3 folder at start and every <c>--s3-list-interval</c>, and a cluster's
/// at once when its snapshot settings change. A thin loop: the work is <see cref="S3Listings"/>'.
/// Of several replicas on one store, only the one that drives operations lists on the schedule (the
/// catalog it writes is everyone's); each still lists at its start and for the changes made on it.
/// </summary>
internal sealed class S3ListingService(S3Listings listings, S3ListingTriggers triggers, S3ListingOptions options, Operations.IOperationLeadership leadership, TimeProvider time) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            // The schedule starts with the server, before its first round.
            using var timer = new PeriodicTimer(options.Interval, time);
            var tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
            await listings.RefreshAllAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                var changed = triggers.Reader.WaitToReadAsync(stoppingToken).AsTask();
                if (await Task.WhenAny(tick, changed) == tick)
                {
                    await tick;
                    tick = timer.WaitForNextTickAsync(stoppingToken).AsTask();
                    if (leadership.IsLeader)
                    {
                        await listings.RefreshAllAsync(stoppingToken);
                    }
                    continue;
                }
                await changed;
                while (triggers.Reader.TryRead(out var cluster))
                {
                    await listings.RefreshAsync(cluster, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The server stops.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await listings.StopAsync();
    }
}
