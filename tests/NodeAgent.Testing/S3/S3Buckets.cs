namespace NodeAgent.Testing.S3;

/// <summary>The one way a test makes a bucket of its own on a test S3 server.</summary>
public static class S3Buckets
{
    /// <summary>
    /// A new bucket named <paramref name="prefix"/>, '-' and 12 random hex digits (with Object Lock
    /// when <paramref name="objectLock"/>), made within <see cref="TestTimeouts.Slow"/>.
    /// </summary>
    public static async Task<string> NewBucketAsync(this IS3TestServer server, string prefix, bool objectLock = false)
    {
        var bucket = prefix + "-" + Guid.NewGuid().ToString("N")[..12];
        await server.CreateBucketAsync(bucket, objectLock).WithTimeout(TestTimeouts.Slow);
        return bucket;
    }
}
