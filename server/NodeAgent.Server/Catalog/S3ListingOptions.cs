namespace NodeAgent.Server.Catalog;

/// <summary>How often <see cref="S3ListingService"/> lists every cluster's S3 folder (<c>--s3-list-interval</c>).</summary>
internal sealed record S3ListingOptions(TimeSpan Interval);
