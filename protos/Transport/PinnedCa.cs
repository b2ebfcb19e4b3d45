using System.Net.Http;
using System.Net.Security;
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
            var roots = new X509Certificate2Collection(ca);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) => ChainsToRoots(certificate, errors, roots);
        }
        return handler;
    }

    /// <summary>
    /// Whether a server's certificate, presented for the host asked for, chains to one of
    /// <paramref name="roots"/> alone (no system roots): what every client here with its own CA
    /// checks (the plan server's clients, the agent's etcd and S3 clients). A certificate for
    /// another host is refused even when its chain is good.
    /// </summary>
    public static bool ChainsToRoots(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
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
