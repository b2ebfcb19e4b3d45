using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;

namespace NodeAgent.Testing.PlanServer;

/// <summary>
/// gRPC channels to a test plan server: TLS that trusts only the server's own CA file (as an
/// agent pins it), optionally carrying a bearer token on every call.
/// </summary>
public static class PlanServerChannels
{
    public static GrpcChannel Create(Uri address, string? bearerToken = null, string? caFile = null)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (caFile is not null)
        {
            // Read when the first connection is made: a starting server writes the file first.
            var ca = new Lazy<X509Certificate2>(() => X509CertificateLoader.LoadCertificate(
                Convert.FromBase64String(string.Concat(File.ReadAllLines(caFile).Where(l => !l.StartsWith("-----", StringComparison.Ordinal))))));
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                if (certificate is null)
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca.Value);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            };
        }
        var options = new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true };
        if (bearerToken is not null)
        {
            var credentials = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", $"Bearer {bearerToken}");
                return Task.CompletedTask;
            });
            options.Credentials = ChannelCredentials.Create(
                address.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, credentials);
            // Only for servers started with --plaintext on loopback.
            options.UnsafeUseInsecureChannelCallCredentials = address.Scheme == Uri.UriSchemeHttp;
        }
        return GrpcChannel.ForAddress(address, options);
    }

    /// <summary>The admin token a plan server wrote into its data dir on first start.</summary>
    public static string ReadAdminToken(string dataDir) => File.ReadAllText(Path.Combine(dataDir, "admin-token")).Trim();

    /// <summary>The server's own CA certificate, which clients pin.</summary>
    public static string CaFile(string dataDir) => Path.Combine(dataDir, "tls", "ca.crt");
}
