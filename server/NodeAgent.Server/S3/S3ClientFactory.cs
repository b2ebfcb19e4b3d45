using System.Net;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using NodeAgent.Contracts.Transport;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.S3;

/// <summary>
/// The AWS SDK client for a cluster's S3 target, made as the agent makes its own (agent/S3/S3ClientFactory):
/// path or virtual-host style as K3s's client decides, checksums only where required (RGW and s3rver
/// differ on the SDK's default trailers), no SDK retries (<see cref="S3ListingRetry"/> is the one
/// retry), the custom CA added to or replacing the system roots, and the proxy. Without keys, the
/// SDK's default chain: the plan server's environment, credentials file, or its instance role.
/// </summary>
internal static class S3ClientFactory
{
    public static IAmazonS3 Create(S3Target target)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = $"{(target.Insecure ? "http" : "https")}://{target.Endpoint}",
            AuthenticationRegion = target.Region,
            ForcePathStyle = target.BucketLookup switch
            {
                BucketLookup.Path => true,
                BucketLookup.Dns => false,
                _ => !target.Endpoint.EndsWith("amazonaws.com", StringComparison.OrdinalIgnoreCase),
            },
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
            Timeout = target.Timeout,
            HttpClientFactory = new TargetHttpClientFactory(target),
        };
        if (target.AccessKey.Length > 0)
        {
            AWSCredentials credentials = target.SessionToken.Length > 0
                ? new SessionAWSCredentials(target.AccessKey, target.SecretKey, target.SessionToken)
                : new BasicAWSCredentials(target.AccessKey, target.SecretKey);
            return new AmazonS3Client(credentials, config);
        }
        return new AmazonS3Client(config);
    }

    /// <summary>The endpoint CA: PEM text, or base64 of it (what the settings may carry).</summary>
    /// <exception cref="S3ListingException">It holds no readable certificate.</exception>
    private static X509Certificate2Collection LoadCa(string value)
    {
        string pem;
        try
        {
            pem = value.Contains("-----BEGIN", StringComparison.Ordinal) ? value : Encoding.UTF8.GetString(Convert.FromBase64String(value));
        }
        catch (FormatException)
        {
            throw new S3ListingException("s3.endpoint_ca is neither PEM nor base64-encoded PEM");
        }
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new S3ListingException($"s3.endpoint_ca holds no readable PEM certificate: {ex.Message}");
        }
        return collection.Count > 0 ? collection : throw new S3ListingException("s3.endpoint_ca holds no PEM certificate");
    }

    private sealed class TargetHttpClientFactory(S3Target target) : HttpClientFactory
    {
        private readonly X509Certificate2Collection? _ca = target.EndpointCa.Length > 0 ? LoadCa(target.EndpointCa) : null;

        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) };
            if (target.Proxy == "none")
            {
                handler.UseProxy = false;
            }
            else if (target.Proxy.Length > 0)
            {
                handler.Proxy = new WebProxy(new Uri(target.Proxy));
                handler.UseProxy = true;
            }
            if (target.SkipSslVerify)
            {
                // Only with the cluster's explicit skip_ssl_verify (K3s's --etcd-s3-skip-ssl-verify).
#pragma warning disable CA5359
                handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
            }
            else if (_ca is not null)
            {
                var ca = _ca;
                var only = target.EndpointCaOnly;
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors)
                    => (!only && errors == SslPolicyErrors.None) || PinnedCa.ChainsToRoots(certificate, errors, ca);
            }
            // The request's bound is S3ListingRetry's timeout, not HttpClient's.
            return new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        }

        // Each client keeps its own HttpClient: the SDK's process-wide cache would hand a client
        // made for one cluster's CA and proxy to another cluster's target.
        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

        public override string GetConfigUniqueString(IClientConfig clientConfig) => $"nodeagent-server-s3-{RuntimeHelpers.GetHashCode(this)}";
    }
}
