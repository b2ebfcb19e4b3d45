using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Catalog;

/// <summary>The listings of one cluster's target: the last success, and the failure since (if any).</summary>
internal sealed class S3ListingState(string fingerprint, string target)
{
    private readonly Lock _gate = new();
    private DateTimeOffset? _listedAt;
    private uint _snapshots;
    private string _error = "";
    private DateTimeOffset? _failedAt;

    public string Fingerprint => fingerprint;

    /// <summary>Where, for log lines (no secrets).</summary>
    public string Target => target;

    public Task? Running { get; set; }

    /// <summary>Whether a listing of this target has ended, either way.</summary>
    public bool HasOutcome
    {
        get
        {
            lock (_gate)
            {
                return _listedAt is not null || _failedAt is not null;
            }
        }
    }

    public void Succeeded(DateTimeOffset at, int snapshots)
    {
        lock (_gate)
        {
            (_listedAt, _snapshots, _error, _failedAt) = (at, (uint)snapshots, "", null);
        }
    }

    public void Failed(DateTimeOffset at, string error)
    {
        lock (_gate)
        {
            (_error, _failedAt) = (error, at);
        }
    }

    public void CopyTo(S3ListingStatus status)
    {
        lock (_gate)
        {
            status.ListedAt = _listedAt is { } listed ? Timestamp.FromDateTimeOffset(listed) : null;
            status.Snapshots = _snapshots;
            status.Error = _error;
            status.FailedAt = _failedAt is { } failed ? Timestamp.FromDateTimeOffset(failed) : null;
        }
    }
}
