namespace NodeAgent.Server.Catalog;

internal sealed partial class S3Listings
{
    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Listed {Target} for cluster {Cluster}: {Count} snapshots")]
    private static partial void LogListed(ILogger logger, string cluster, string target, int count);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Could not list the S3 snapshots of cluster {Cluster}: {Reason}; the catalog keeps the S3 copies it had")]
    private static partial void LogListFailed(ILogger logger, string cluster, string reason);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning, Message = "Listing {Target} for cluster {Cluster} took longer than its timeout {Timeout}; answering with the catalog as it is")]
    private static partial void LogStillListing(ILogger logger, string cluster, string target, TimeSpan timeout);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Warning, Message = "Could not start the S3 listings of the clusters: {Reason}; trying again at the next interval")]
    private static partial void LogRoundFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Error, Message = "The S3 listing of cluster {Cluster} failed unexpectedly")]
    private static partial void LogListCrashed(ILogger logger, Exception exception, string cluster);
}
