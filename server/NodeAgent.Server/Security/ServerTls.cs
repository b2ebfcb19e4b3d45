using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NodeAgent.Server.Files;

namespace NodeAgent.Server.Security;

/// <summary>
/// The server's own TLS: a CA (<c>tls/ca.crt</c>, <c>tls/ca.key</c>) made on first start and a
/// serving certificate it signs (<c>tls/server.crt</c>, <c>tls/server.key</c>), renewed when it
/// nears expiry or lacks a requested name. Agents and operators pin <c>tls/ca.crt</c>.
/// </summary>
internal static class ServerTls
{
    public const string Directory = "tls";
    public const string CaCertFile = "ca.crt";
    public const string CaKeyFile = "ca.key";
    private const string ServerCertFile = "server.crt";
    private const string ServerKeyFile = "server.key";
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    public static X509Certificate2 LoadOrCreate(string dataDir, IReadOnlyCollection<string> names, TimeProvider time)
    {
        var dir = Path.Combine(dataDir, Directory);
        System.IO.Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var now = time.GetUtcNow();
        using var ca = LoadOrCreateCa(dir, now);
        var certPath = Path.Combine(dir, ServerCertFile);
        var keyPath = Path.Combine(dir, ServerKeyFile);
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            var existing = X509Certificate2.CreateFromPemFile(certPath, keyPath);
            if (existing.NotAfter.ToUniversalTime() - RenewBefore > now.UtcDateTime && Covers(existing, names))
            {
                return existing;
            }
            existing.Dispose();
        }
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=nodeagent plan-server", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var signed = request.Create(ca, now.AddMinutes(-5), now.AddYears(1), RandomNumberGenerator.GetBytes(16));
        var server = signed.CopyWithPrivateKey(key);
        WriteSecret(certPath, server.ExportCertificatePem());
        WriteSecret(keyPath, key.ExportPkcs8PrivateKeyPem());
        return server;
    }

    /// <summary>The names a serving certificate needs: the listen address, loopback, the host name, and any extra.</summary>
    public static IReadOnlyCollection<string> DefaultNames(IPEndPoint listen, IEnumerable<string> extra)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal) { "localhost", "127.0.0.1", "::1", Dns.GetHostName() };
        if (!listen.Address.Equals(IPAddress.Any) && !listen.Address.Equals(IPAddress.IPv6Any))
        {
            names.Add(listen.Address.ToString());
        }
        names.UnionWith(extra.Where(n => n.Length > 0));
        return names;
    }

    private static X509Certificate2 LoadOrCreateCa(string dir, DateTimeOffset now)
    {
        var certPath = Path.Combine(dir, CaCertFile);
        var keyPath = Path.Combine(dir, CaKeyFile);
        if (File.Exists(certPath) && File.Exists(keyPath))
        {
            return X509Certificate2.CreateFromPemFile(certPath, keyPath);
        }
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=nodeagent plan-server CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var ca = request.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(10));
        WriteSecret(keyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(certPath, ca.ExportCertificatePem());
        return ca;
    }

    private static bool Covers(X509Certificate2 certificate, IReadOnlyCollection<string> names)
    {
        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().FirstOrDefault();
        if (san is null)
        {
            return false;
        }
        var have = san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(ip => ip.ToString())).ToHashSet(StringComparer.Ordinal);
        return names.All(have.Contains);
    }

    private static void WriteSecret(string path, string content)
    {
        File.Delete(path);
        using var stream = PrivateFile.CreateNew(path);
        using var writer = new StreamWriter(stream);
        writer.Write(content);
    }
}
