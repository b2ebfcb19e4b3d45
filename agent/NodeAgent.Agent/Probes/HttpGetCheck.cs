using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NodeAgent.Agent.Config;

namespace NodeAgent.Agent.Probes;

/// <summary>
/// An HTTP(S) GET that is healthy on a 2xx answer. The plan server sends K3s's and RKE2's
/// supervisor <c>/ping</c> (see the server's PlanBuilder), whose certificate the runtime's own
/// server CA signs: besides the system's roots, a certificate that chains to
/// <c>&lt;data-dir&gt;/server/tls/server-ca.crt</c> is trusted (read at each check, so a rotated CA is
/// picked up). No credential is sent.
/// </summary>
internal sealed class HttpGetCheck : IDisposable
{
    private readonly HttpClient _client;
    private readonly string _runtimeCa;

    public HttpGetCheck(AgentOptions options)
    {
        _runtimeCa = Path.Combine(options.EffectiveDataDir, "server", "tls", "server-ca.crt");
        var handler = new SocketsHttpHandler
        {
            // The probe's own timeout bounds each check; a fresh connection now and then follows address changes.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Validate },
        };
        _client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>Null on a 2xx answer; else the status or the failure, naming the URL.</summary>
    public async Task<string?> GetAsync(string url, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return $"GET {url}: not an http(s) URL";
        }
        try
        {
            using var response = await _client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return response.IsSuccessStatusCode ? null : $"GET {url} answered {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (HttpRequestException ex)
        {
            return $"GET {url} failed: {Innermost(ex)}";
        }
    }

    public void Dispose() => _client.Dispose();

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || certificate is null || !File.Exists(_runtimeCa))
        {
            return false;
        }
        try
        {
            var roots = new X509Certificate2Collection();
            roots.ImportFromPemFile(_runtimeCa);
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(roots);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            using var leaf = new X509Certificate2(certificate);
            return custom.Build(leaf);
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static string Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }
        return ex.Message;
    }
}
