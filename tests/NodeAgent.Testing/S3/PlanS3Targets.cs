using NodeAgent.Contracts.V1;

namespace NodeAgent.Testing.S3;

/// <summary>The contract's S3 target for a bucket on a test server, as a cluster's snapshot settings name it.</summary>
public static class PlanS3Targets
{
    /// <summary>Plain HTTP to the server with its static keys.</summary>
    /// <param name="requestTimeout">Per request, its retries included: e.g. 20 s, so one that hangs fails the upload instead of being waited on for the default 5 minutes.</param>
    public static S3Settings PlanS3Target(this IS3TestServer server, string bucket, string folder = "", TimeSpan? requestTimeout = null) => new()
    {
        Endpoint = server.HttpEndpoint.Authority,
        Insecure = true,
        Bucket = bucket,
        Folder = folder,
        Timeout = requestTimeout is { } timeout ? Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(timeout) : null,
        Credentials = new S3Credentials { StaticKeys = new S3Credentials.Types.StaticKeys { AccessKey = server.AccessKey, SecretKey = server.SecretKey } },
    };
}
