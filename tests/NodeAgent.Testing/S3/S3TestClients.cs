using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Amazon.Runtime;
using Amazon.S3;
using NodeAgent.Contracts.Transport;

namespace NodeAgent.Testing.S3;

/// <summary>
/// AWS SDK clients for the test servers. AWSSDK.S3 4.x by default sends streaming trailer
/// checksums that Ceph RGW refuses and s3rver stores verbatim; "when required" checksums work on
/// every store. Path-style addressing, because the endpoints are IP addresses.
/// </summary>
public static class S3TestClients
{
    public static IAmazonS3 Create(Uri endpoint, string accessKey, string secretKey, string? caFile)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = endpoint.ToString().TrimEnd('/'),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
            Timeout = TimeSpan.FromMinutes(2),
        };
        if (caFile is not null)
        {
            config.HttpClientFactory = new PinnedCaHttpClientFactory(caFile);
        }
        return new AmazonS3Client(new BasicAWSCredentials(accessKey, secretKey), config);
    }

    private sealed class PinnedCaHttpClientFactory(string caFile) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            var roots = new X509Certificate2Collection(PinnedCa.LoadPem(caFile));
            var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors)
                => errors == SslPolicyErrors.None || PinnedCa.ChainsToRoots(certificate, errors, roots);
            return new HttpClient(handler);
        }
    }
}
