using Amazon.S3.Model;

namespace NodeAgent.Testing.S3;

/// <summary>
/// Puts a test's set-up objects with the AWS SDK: what another client (K3s, a person with the aws
/// CLI) left in a bucket before the code under test looks. Checks of what our code uploaded read it
/// with the aws CLI instead (<see cref="IS3TestServer.Aws"/>), the independent reader; an aws call
/// costs a second of CPU, and the set-ups made half of a run's 111.
/// </summary>
public static class S3TestObjects
{
    /// <summary>
    /// Uploads <paramref name="path"/> as <paramref name="key"/>, with <paramref name="metadata"/> as
    /// user metadata (x-amz-meta-*) in aws's <c>--metadata</c> form (<c>k3s-node-name=n1,k3s-token-hash=ab</c>),
    /// within <see cref="TestTimeouts.Slow"/>.
    /// </summary>
    public static async Task PutFileAsync(this IS3TestServer server, string bucket, string key, string path, string? metadata = null)
    {
        using var client = server.CreateClient();
        // Not aws-chunked: s3rver would store the chunk signatures as the object's bytes.
        var request = new PutObjectRequest { BucketName = bucket, Key = key, FilePath = path, UseChunkEncoding = false };
        foreach (var pair in (metadata ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"metadata '{metadata}' is not key=value[,key=value...]", nameof(metadata));
            }
            request.Metadata.Add(pair[..equals], pair[(equals + 1)..]);
        }
        await client.PutObjectAsync(request).WithTimeout(TestTimeouts.Slow);
    }
}
