using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace NodeAgent.Testing.S3;

/// <summary>
/// A CA made for one test run, a server certificate it signs for 127.0.0.1 / localhost and a
/// client certificate, written as PEM files (ca.crt, server.crt, server.key, client.crt,
/// client.key) into a temporary directory.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly TempDir _dir = new("nodeagent-ca-");

    public TestCertificateAuthority()
    {
        var now = TimeProvider.System.GetUtcNow();
        // RSA throughout: every TLS stack here (Beast, Node.js, OpenSSL in awscli) takes it.
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=NodeAgent test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        Certificate = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(7));

        using var serverKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = request.Create(Certificate, now.AddMinutes(-5), now.AddDays(6), RandomNumberGenerator.GetBytes(12));

        File.WriteAllText(CaCertificatePath, Certificate.ExportCertificatePem());
        File.WriteAllText(ServerCertificatePath, server.ExportCertificatePem());
        File.WriteAllText(ServerKeyPath, serverKey.ExportPkcs8PrivateKeyPem());
        // Beast (Ceph) reads one PEM with both.
        File.WriteAllText(ServerBundlePath, server.ExportCertificatePem() + "\n" + serverKey.ExportPkcs8PrivateKeyPem());

        // A client certificate, as etcd's --client-cert-auth demands (K3s's etcd client.crt).
        using var clientKey = RSA.Create(2048);
        var clientRequest = new CertificateRequest("CN=nodeagent-client", clientKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        clientRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        clientRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        clientRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var client = clientRequest.Create(Certificate, now.AddMinutes(-5), now.AddDays(6), RandomNumberGenerator.GetBytes(12));
        File.WriteAllText(ClientCertificatePath, client.ExportCertificatePem());
        File.WriteAllText(ClientKeyPath, clientKey.ExportPkcs8PrivateKeyPem());
    }

    public X509Certificate2 Certificate { get; }

    public string CaCertificatePath => _dir.Combine("ca.crt");

    public string ServerCertificatePath => _dir.Combine("server.crt");

    public string ServerKeyPath => _dir.Combine("server.key");

    public string ServerBundlePath => _dir.Combine("server.pem");

    public string ClientCertificatePath => _dir.Combine("client.crt");

    public string ClientKeyPath => _dir.Combine("client.key");

    public void Dispose()
    {
        Certificate.Dispose();
        _dir.Dispose();
    }
}
