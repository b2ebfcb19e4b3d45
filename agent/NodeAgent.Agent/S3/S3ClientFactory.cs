using System.Net;
using System.Runtime.CompilerServices;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Contracts.Transport;

namespace NodeAgent.Agent.S3;

/// <summary>
/// Builds the AWS SDK client for an S3 target so that it works on AWS, Ceph RGW, MinIO-like stores
/// and s3rver alike: checksums only when an operation requires them (AWSSDK.S3 4.x's default
/// streaming trailer checksums are refused by RGW and stored verbatim by s3rver; integrity is
/// proven per part by Content-MD5 over TLS, by the signed payload SHA-256 over plain HTTP: see <see cref="S3StreamingUpload"/>), no SDK retries (our one Polly pipeline retries), a
/// timeout per request, the custom CA added to or replacing the system roots, and the proxy.
/// </summary>
internal static class S3ClientFactory
{
    /// <param name="observe">Wraps the client's HTTP handler (tests watch the requests on the wire with it).</param>
    /// <summary>The bytes of a request body written to the connection at a time.</summary>
    public const int RequestBodyWriteBytes = 256 * 1024;

    public static IAmazonS3 Create(S3Settings settings, Func<HttpMessageHandler, HttpMessageHandler>? observe = null)
    {
        var scheme = settings.Insecure ? "http" : "https";
        var config = new AmazonS3Config
        {
            ServiceURL = $"{scheme}://{settings.Endpoint}",
            AuthenticationRegion = settings.Region,
            ForcePathStyle = settings.BucketLookup switch
            {
                BucketLookup.Path => true,
                BucketLookup.Dns => false,
                // As minio-go (K3s's client) decides: virtual-host style for AWS, path style elsewhere.
                _ => !settings.Endpoint.EndsWith("amazonaws.com", StringComparison.OrdinalIgnoreCase),
            },
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
            // How much of a body goes to the connection per write (the SDK's default is 8 KiB: 1,024
            // writes, TLS records and syscalls per 8 MiB part).
            BufferSize = RequestBodyWriteBytes,
            Timeout = settings.Timeout,
            HttpClientFactory = new TargetHttpClientFactory(settings, observe),
        };
        if (settings.AccessKey.Length > 0)
        {
            AWSCredentials credentials = settings.SessionToken.Length > 0
                ? new SessionAWSCredentials(settings.AccessKey, settings.SecretKey, settings.SessionToken)
                : new BasicAWSCredentials(settings.AccessKey, settings.SecretKey);
            return new AmazonS3Client(credentials, config);
        }
        // The SDK's default chain: environment, shared credentials file, container credentials, EC2 role.
        return new AmazonS3Client(config);
    }

    /// <summary>The CA certificates of <c>--s3-endpoint-ca</c>: a PEM file, or base64 of a PEM (K3s accepts both).</summary>
    public static X509Certificate2Collection LoadCa(string value)
    {
        string pem;
        if (value.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            // The PEM text itself, as the plan server hands it to agents.
            pem = value;
        }
        else if (File.Exists(value))
        {
            pem = File.ReadAllText(value);
        }
        else
        {
            try
            {
                pem = Encoding.UTF8.GetString(Convert.FromBase64String(value));
            }
            catch (FormatException)
            {
                throw new SnapshotRequestException($"--s3-endpoint-ca \"{Shorten(value)}\" is neither an existing file nor base64-encoded PEM");
            }
        }
        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            throw new SnapshotRequestException($"--s3-endpoint-ca holds no readable PEM certificate: {ex.Message}");
        }
        return collection.Count > 0 ? collection : throw new SnapshotRequestException("--s3-endpoint-ca holds no PEM certificate");
    }

    private static string Shorten(string value) => value.Length > 40 ? value[..40] + "..." : value;

    private sealed class TargetHttpClientFactory(S3Settings settings, Func<HttpMessageHandler, HttpMessageHandler>? observe) : HttpClientFactory
    {
        private readonly X509Certificate2Collection? _ca = settings.EndpointCa.Length > 0 ? LoadCa(settings.EndpointCa) : null;

        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            var handler = new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30) };
            if (settings.Proxy == "none")
            {
                handler.UseProxy = false;
            }
            else if (settings.Proxy.Length > 0)
            {
                handler.Proxy = new WebProxy(new Uri(settings.Proxy));
                handler.UseProxy = true;
            }
            if (settings.SkipSslVerify)
            {
                // Only with the operator's explicit --s3-skip-ssl-verify (K3s's setting), which is warned about.
#pragma warning disable CA5359
                handler.SslOptions.RemoteCertificateValidationCallback = AcceptAnyCertificate;
#pragma warning restore CA5359
            }
            else if (_ca is not null)
            {
                var ca = _ca;
                var only = settings.EndpointCaOnly;
                // Added to the system roots unless --s3-endpoint-ca-only: then it alone is trusted.
                handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors)
                    => (!only && errors == SslPolicyErrors.None) || PinnedCa.ChainsToRoots(certificate, errors, ca);
            }
            return new HttpClient(observe is null ? handler : observe(handler)) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        }

        private static bool AcceptAnyCertificate(object sender, System.Security.Cryptography.X509Certificates.X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) => true;

        // Each S3 client keeps its own HttpClient: the SDK's process-wide cache would hand a client
        // made for one target's CA and proxy to another target.
        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

        public override string GetConfigUniqueString(IClientConfig clientConfig) => $"nodeagent-s3-{RuntimeHelpers.GetHashCode(this)}";
    }
}
