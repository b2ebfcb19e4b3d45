using System.Globalization;
using System.Text.RegularExpressions;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.S3;

/// <summary>How bucket names go into URLs: K3s's <c>--s3-bucket-lookup-type</c>.</summary>
internal enum BucketLookup
{
    Auto,
    Path,
    Dns,
}

/// <summary>
/// The S3 target, with K3s's setting names (<c>--s3-endpoint</c>, <c>--s3-bucket</c>, ...). Secrets
/// come from the environment or a config file, never from argv. No keys means the SDK's default
/// credential chain (environment, shared credentials file, container credentials, EC2 role).
/// </summary>
internal sealed partial record S3Settings
{
    public const string DefaultEndpoint = "s3.amazonaws.com";
    public const string DefaultRegion = "us-east-1";

    public string Endpoint { get; init; } = DefaultEndpoint;

    public string Region { get; init; } = DefaultRegion;

    public string Bucket { get; init; } = "";

    public string Folder { get; init; } = "";

    public BucketLookup BucketLookup { get; init; } = BucketLookup.Auto;

    /// <summary>Plain http instead of https.</summary>
    public bool Insecure { get; init; }

    public string AccessKey { get; init; } = "";

    public string SecretKey { get; init; } = "";

    public string SessionToken { get; init; } = "";

    /// <summary>A PEM file path or base64-encoded PEM (K3s's <c>--s3-endpoint-ca</c>).</summary>
    public string EndpointCa { get; init; } = "";

    /// <summary>Whether the custom CA replaces the system roots (default: it adds to them).</summary>
    public bool EndpointCaOnly { get; init; }

    public bool SkipSslVerify { get; init; }

    /// <summary>A proxy URL, <c>none</c> for no proxy, or empty for the *_PROXY environment.</summary>
    public string Proxy { get; init; } = "";

    /// <summary>Per request (so per part), its retries included; not for a whole upload.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How many request timeouts a whole upload may take when <see cref="UploadTimeout"/> is not given.</summary>
    public const int UploadTimeoutInRequests = 12;

    /// <summary>The deadline of one whole upload (every part, complete); null: <see cref="UploadTimeoutInRequests"/> × <see cref="Timeout"/> (1h by default).</summary>
    public TimeSpan? UploadTimeout { get; init; }

    /// <summary>The whole-upload deadline in force.</summary>
    public TimeSpan UploadDeadline => UploadTimeout ?? Timeout * UploadTimeoutInRequests;

    /// <summary>8 MiB parts, 6 in flight: RGW took parts at its full rate, and the agent stays near 100 MiB.</summary>
    public long PartSizeBytes { get; init; } = 8L * 1024 * 1024;

    public int ParallelParts { get; init; } = 6;

    /// <summary>Where, never the keys: a record's generated ToString would print the secret.</summary>
    public override string ToString() => $"s3://{Bucket}/{FolderPrefix} at {Endpoint}";

    /// <summary>The object key of a file in the folder.</summary>
    public string KeyOf(string fileName) => Folder.Length == 0 ? fileName : $"{Folder}/{fileName}";

    /// <summary>The key of a snapshot's metadata object, where K3s puts it.</summary>
    public string MetadataKeyOf(string fileName) => KeyOf($".metadata/{fileName}");

    /// <summary>The listing prefix: the folder and its separator, so folder "a" never matches "a-old/...".</summary>
    public string FolderPrefix => Folder.Length == 0 ? "" : Folder + "/";

    /// <exception cref="SnapshotRequestException">What is wrong, naming the setting.</exception>
    public S3Settings Validated()
    {
        if (Bucket.Length == 0)
        {
            throw new SnapshotRequestException("--s3-bucket is required for S3");
        }
        if (!BucketName().IsMatch(Bucket) || Bucket.Contains("..", StringComparison.Ordinal))
        {
            throw new SnapshotRequestException($"--s3-bucket \"{Bucket}\" is not a valid bucket name (3-63 characters: lower-case letters, digits, '.', '-')");
        }
        if (Endpoint.Length == 0 || Endpoint.Contains("://", StringComparison.Ordinal) || Endpoint.Contains('/', StringComparison.Ordinal)
            || !Uri.TryCreate("http://" + Endpoint, UriKind.Absolute, out _))
        {
            throw new SnapshotRequestException($"--s3-endpoint \"{Endpoint}\" must be host or host:port, without a scheme (use --s3-insecure for http)");
        }
        if (Folder.StartsWith('/') || Folder.EndsWith('/') || Folder.Split('/').Any(p => p is "" or "." or ".."))
        {
            if (Folder.Length > 0)
            {
                throw new SnapshotRequestException($"--s3-folder \"{Folder}\" must be a relative path without empty, '.' or '..' parts and without leading or trailing '/'");
            }
        }
        if (Proxy.Length > 0 && Proxy != "none"
            && (!Uri.TryCreate(Proxy, UriKind.Absolute, out var proxy) || proxy.Host.Length == 0 || (proxy.Scheme != "http" && proxy.Scheme != "https")))
        {
            throw new SnapshotRequestException($"--s3-proxy \"{Proxy}\" must be an http(s) URL with a host, or \"none\"");
        }
        if (AccessKey.Length > 0 != SecretKey.Length > 0)
        {
            throw new SnapshotRequestException("S3 access key and secret key go together: give both, or neither to use the default credential chain");
        }
        if (Timeout < TimeSpan.FromMilliseconds(10) || Timeout > TimeSpan.FromHours(24))
        {
            throw new SnapshotRequestException($"--s3-timeout {Format(Timeout)} must be between 10ms and 24h");
        }
        if (UploadDeadline < TimeSpan.FromMilliseconds(10) || UploadDeadline > TimeSpan.FromDays(24))
        {
            throw new SnapshotRequestException($"--s3-upload-timeout {Format(UploadDeadline)} must be between 10ms and 24 days (576h)");
        }
        if (PartSizeBytes < 5L * 1024 * 1024 || ParallelParts is < 1 or > 32)
        {
            throw new SnapshotRequestException("S3 part size must be at least 5 MiB and parallel parts between 1 and 32");
        }
        return this;
    }

    public static BucketLookup ParseLookup(string? text) => (text ?? "auto").ToLowerInvariant() switch
    {
        "" or "auto" => BucketLookup.Auto,
        "path" => BucketLookup.Path,
        "dns" => BucketLookup.Dns,
        _ => throw new SnapshotRequestException($"--s3-bucket-lookup-type \"{text}\" must be auto, path or dns"),
    };

    /// <summary>A duration as the flags take it: 5s, 5m, 1h30m, 1.5s.</summary>
    public static string Format(TimeSpan duration)
    {
        var text = (duration.Days * 24 + duration.Hours > 0 ? $"{duration.Days * 24 + duration.Hours}h" : "")
            + (duration.Minutes > 0 ? $"{duration.Minutes}m" : "")
            + (duration.Seconds > 0 || duration.Milliseconds > 0 ? string.Create(CultureInfo.InvariantCulture, $"{duration.Seconds + (duration.Milliseconds / 1000.0):0.###}s") : "");
        return text.Length > 0 ? text : "0s";
    }

    /// <summary>K3s's duration format for <c>--s3-timeout</c>: 30s, 5m, 1h30m, or plain seconds.</summary>
    public static TimeSpan ParseTimeout(string text, string flag = "--s3-timeout")
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(seconds);
        }
        var match = GoDuration().Match(text);
        if (!match.Success || text.Length == 0)
        {
            throw new SnapshotRequestException($"{flag} \"{text}\" is not a duration like 30s, 5m or 1h30m");
        }
        double Part(string name) => match.Groups[name].Success ? double.Parse(match.Groups[name].Value, CultureInfo.InvariantCulture) : 0;
        return TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("m")) + TimeSpan.FromSeconds(Part("s"));
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();

    [GeneratedRegex(@"^(?:(?<h>\d+(?:\.\d+)?)h)?(?:(?<m>\d+(?:\.\d+)?)m)?(?:(?<s>\d+(?:\.\d+)?)s)?$")]
    private static partial Regex GoDuration();
}
