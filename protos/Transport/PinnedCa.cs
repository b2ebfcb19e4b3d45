using System.Net.Http;
using System.Security.Cryptography.X509Certificates;

namespace NodeAgent.Contracts.Transport;

/// <summary>
/// How every client of the contract trusts the plan server: only the CA in a PEM file (the
/// server's own <c>tls/ca.crt</c>, or an operator's), never a silent fall-back to system roots.
/// Shared by node-agent and nodeagentctl.
/// </summary>
public static class PinnedCa
{
    /// <summary>An HTTP/2 handler for a gRPC channel; with <paramref name="caFile"/> null, the system roots apply.</summary>
    public static SocketsHttpHandler CreateHandler(string? caFile)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(15),
            EnableMultipleHttp2Connections = true,
        };
        if (!string.IsNullOrEmpty(caFile))
        {
            var ca = LoadPem(caFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            {
                if (certificate is null)
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                return chain.Build(leaf);
            };
        }
        return handler;
    }

    /// <summary>The first certificate of a PEM file; a clear error when there is none.</summary>
    public static X509Certificate2 LoadPem(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"CA file {path} does not exist", path);
        }
        try
        {
            return X509Certificate2.CreateFromPem(File.ReadAllText(path));
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new InvalidDataException($"CA file {path} does not hold a PEM certificate: {ex.Message}", ex);
        }
    }
}
