using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.S3;

/// <summary>What every object we write carries: K3s's user metadata, its content type, its checksum (see <see cref="Put"/>), no chunked encoding.</summary>
internal static class S3Objects
{
    public static string ContentTypeOf(string fileName)
        => fileName.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal) ? "application/zip" : "application/octet-stream";

    public static Dictionary<string, string> UserMetadata(SnapshotMetadata metadata)
        => UserMetadata(metadata.Runtime, metadata.NodeName, metadata.Cluster, metadata.TokenHash);

    /// <summary>K3s's object metadata: <c>&lt;runtime&gt;-node-name</c>, <c>-cluster-id</c>, <c>-token-hash</c>.</summary>
    public static Dictionary<string, string> UserMetadata(string runtime, string nodeName, string cluster, string tokenHash)
    {
        runtime = runtime.Length > 0 ? runtime : Config.RuntimeNaming.NameOf(Contracts.V1.Runtime.K3S);
        var map = new Dictionary<string, string>(StringComparer.Ordinal) { [$"{runtime}-node-name"] = nodeName };
        if (cluster.Length > 0)
        {
            map[$"{runtime}-cluster-id"] = cluster;
        }
        if (tokenHash.Length > 0)
        {
            map[$"{runtime}-token-hash"] = tokenHash;
        }
        return map;
    }

    /// <summary>
    /// A single PUT of <paramref name="length"/> bytes of <paramref name="body"/>; made anew for each attempt (its stream is read once).
    /// Each byte is hashed once, as a multipart upload's parts are: over TLS the body goes UNSIGNED-PAYLOAD
    /// and its Content-MD5 proves it (to the store, and in the answer's ETag to us); over plain HTTP the signature covers its SHA-256, and Content-MD5
    /// is added only for a bucket that requires it (<paramref name="contentMd5"/>: Object Lock).
    /// </summary>
    public static PutObjectRequest Put(S3Settings settings, string key, byte[] body, int length, string contentType, Dictionary<string, string> userMetadata, bool contentMd5)
    {
        var unsigned = !settings.Insecure;
        var request = new PutObjectRequest
        {
            BucketName = settings.Bucket,
            Key = key,
            InputStream = new MemoryStream(body, 0, length, writable: false),
            ContentType = contentType,
            MD5Digest = contentMd5 || unsigned ? ContentMd5.Of(body.AsSpan(0, length)) : null,
            UseChunkEncoding = false,
            DisablePayloadSigning = unsigned,
            // Not the SDK's second MD5 pass over the body: PutAsync checks the ETag against the MD5 made here.
            DisableDefaultChecksumValidation = true,
        };
        CopyTo(userMetadata, request.Metadata);
        return request;
    }

    /// <summary>Sends a PUT made by <see cref="Put"/>; throws <see cref="S3BodyMismatchException"/> when S3 stored other bytes (<see cref="S3StoredBody"/>).</summary>
    public static async Task<PutObjectResponse> PutAsync(IAmazonS3 s3, PutObjectRequest request, CancellationToken cancellationToken)
    {
        var response = await s3.PutObjectAsync(request, cancellationToken);
        S3StoredBody.Check(request.MD5Digest, response.ETag, response.ServerSideEncryptionMethod,
            customerKey: response.ServerSideEncryptionCustomerMethod is { } method && method != ServerSideEncryptionCustomerMethod.None);
        return response;
    }

    public static void CopyTo(Dictionary<string, string> userMetadata, MetadataCollection target)
    {
        foreach (var (key, value) in userMetadata)
        {
            target.Add(key, value);
        }
    }
}
