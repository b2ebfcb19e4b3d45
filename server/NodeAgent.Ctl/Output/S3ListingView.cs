using NodeAgent.Contracts.V1;

namespace NodeAgent.Ctl.Output;

/// <summary>How the plan server's own listing of a cluster's S3 folder stands, in one line.</summary>
internal static class S3ListingView
{
    public static string Describe(S3ListingStatus status)
    {
        var listed = status.ListedAt is null ? "not listed yet" : $"{status.Snapshots} snapshots, listed {Printer.Time(status.ListedAt)}";
        return status.Error.Length > 0
            ? $"{status.Target}: failed {Printer.Time(status.FailedAt)}: {status.Error} (last good listing: {(status.ListedAt is null ? "none" : Printer.Time(status.ListedAt))})"
            : $"{status.Target}: {listed}";
    }

    /// <summary>The warning <c>snapshot ls</c> prints on stderr when the last listing failed; null when it did not.</summary>
    public static string? Warning(S3ListingStatus? status)
        => status is { Error.Length: > 0 }
            ? $"nodeagentctl: warning: the server could not list {status.Target}: {status.Error}; "
                + (status.ListedAt is null ? "no S3 copies are known until it can" : $"the S3 copies shown are from its last good listing, {Printer.Time(status.ListedAt)}")
            : null;
}
