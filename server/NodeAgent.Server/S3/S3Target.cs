using System.Security.Cryptography;
using Google.Protobuf;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.S3;

/// <summary>
/// A cluster's S3 target as the plan server reads it: the snapshot settings' S3 part with the
/// defaults filled in (those the agents apply), secrets included. Never logged: <see cref="ToString"/>
/// names the place only.
/// </summary>
internal sealed record S3Target
{
    public const string DefaultEndpoint = "s3.amazonaws.com";
    public const string DefaultRegion = "us-east-1";
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    public required string Endpoint { get; init; }

    public required string Region { get; init; }

    public required string Bucket { get; init; }

    public string Folder { get; init; } = "";

    public BucketLookup BucketLookup { get; init; }

    public bool Insecure { get; init; }

    public bool SkipSslVerify { get; init; }

    /// <summary>PEM text (or base64 of it), as the settings carry it.</summary>
    public string EndpointCa { get; init; } = "";

    public bool EndpointCaOnly { get; init; }

    public string Proxy { get; init; } = "";

    /// <summary>Per request, its retries included.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Empty: the SDK's default chain (the plan server's own environment, credentials file or instance role).</summary>
    public string AccessKey { get; init; } = "";

    public string SecretKey { get; init; } = "";

    public string SessionToken { get; init; } = "";

    /// <summary>The cluster's recurring snapshot name (settings <c>name</c>), one of the prefixes that split a K3s file name into its node.</summary>
    public string NamePrefix { get; init; } = "";

    /// <summary>sha256 of the settings it was made from: a different value means the target changed.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>The listing prefix: the folder and its separator, so folder "a" never matches "a-old/...".</summary>
    public string FolderPrefix => Folder.Length == 0 ? "" : Folder + "/";

    public string KeyOf(string fileName) => FolderPrefix + fileName;

    public string MetadataKeyOf(string fileName) => KeyOf($".metadata/{fileName}");

    public string Location(string key) => $"s3://{Bucket}/{key}";

    /// <summary>Where, never the keys: a record's generated ToString would print the secret.</summary>
    public override string ToString() => $"s3://{Bucket}/{FolderPrefix} at {Endpoint}";

    /// <summary>The cluster's S3 target, or null when its snapshots stay on the nodes only.</summary>
    public static S3Target? Of(SnapshotSettings? settings)
    {
        if (settings?.S3 is not { Bucket.Length: > 0 } s3)
        {
            return null;
        }
        var keys = s3.Credentials?.StaticKeys;
        return new S3Target
        {
            Endpoint = s3.Endpoint.Length > 0 ? s3.Endpoint : DefaultEndpoint,
            Region = s3.Region.Length > 0 ? s3.Region : DefaultRegion,
            Bucket = s3.Bucket,
            Folder = s3.Folder,
            BucketLookup = s3.BucketLookup,
            Insecure = s3.Insecure,
            SkipSslVerify = s3.SkipSslVerify,
            EndpointCa = s3.EndpointCa,
            EndpointCaOnly = s3.CaMode == CaMode.Replace,
            Proxy = s3.Proxy,
            Timeout = s3.Timeout is { } timeout && timeout.ToTimeSpan() > TimeSpan.Zero ? timeout.ToTimeSpan() : DefaultTimeout,
            AccessKey = keys?.AccessKey ?? "",
            SecretKey = keys?.SecretKey ?? "",
            SessionToken = keys?.SessionToken ?? "",
            NamePrefix = settings.Name,
            Fingerprint = Convert.ToHexStringLower(SHA256.HashData(s3.ToByteArray())),
        };
    }
}
