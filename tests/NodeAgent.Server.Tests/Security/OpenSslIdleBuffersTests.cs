using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NodeAgent.Server.Hosting;
using NodeAgent.Server.Security;
using NodeAgent.Testing;

namespace NodeAgent.Server.Tests;

/// <summary>
/// The idle-buffer release reaches into SslStream's private state: these tests fail when a runtime
/// update moves it, rather than letting every agent's connection quietly keep ~34 KiB again.
/// </summary>
public sealed class OpenSslIdleBuffersTests
{
    private const long ModeReleaseBuffers = 0x10;

    [Fact]
    public void IsAvailable_ThisRuntime_FindsTheSslHandle()
        => Assert.True(OpenSslIdleBuffers.IsAvailable, "SslStream._securityContext or OpenSSL 3 not found: see OpenSslIdleBuffers");

    [Fact]
    public async Task TrySetReleaseBuffers_AuthenticatedServerStream_SetsTheModeAndTheStreamStillCarriesData()
    {
        await using var pair = await TlsPair.ConnectAsync();

        Assert.Equal(0, (OpenSslIdleBuffers.Mode(pair.Server) ?? -1) & ModeReleaseBuffers);
        Assert.True(OpenSslIdleBuffers.TrySetReleaseBuffers(pair.Server));
        Assert.Equal(ModeReleaseBuffers, (OpenSslIdleBuffers.Mode(pair.Server) ?? 0) & ModeReleaseBuffers);

        // Buffers are freed between records and made again for the next: both directions, twice,
        // with a record larger than one buffer.
        var payload = RandomNumberGenerator.GetBytes(40_000);
        for (var i = 0; i < 2; i++)
        {
            await pair.Client.WriteAsync(payload).AsTask().DefaultTimeout();
            Assert.Equal(payload, await ReadExactlyAsync(pair.Server, payload.Length));
            await pair.Server.WriteAsync(payload).AsTask().DefaultTimeout();
            Assert.Equal(payload, await ReadExactlyAsync(pair.Client, payload.Length));
        }
    }

    [Fact]
    public void MapLargeBlocks_Glibc_Succeeds() => Assert.True(NativeHeap.MapLargeBlocks());

    private static async Task<byte[]> ReadExactlyAsync(SslStream stream, int length)
    {
        var buffer = new byte[length];
        await stream.ReadExactlyAsync(buffer).AsTask().DefaultTimeout();
        return buffer;
    }

    /// <summary>A client and a server SslStream over loopback TCP, the server on a throwaway ECDSA certificate.</summary>
    private sealed class TlsPair : IAsyncDisposable
    {
        private readonly X509Certificate2 _certificate;

        private TlsPair(SslStream client, SslStream server, X509Certificate2 certificate)
        {
            Client = client;
            Server = server;
            _certificate = certificate;
        }

        public SslStream Client { get; }

        public SslStream Server { get; }

        public static async Task<TlsPair> ConnectAsync()
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
            var certificate = request.CreateSelfSigned(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100));
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var clientSocket = new TcpClient();
            await clientSocket.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port).DefaultTimeout();
            var serverSocket = await listener.AcceptTcpClientAsync().DefaultTimeout();
            var server = new SslStream(serverSocket.GetStream(), leaveInnerStreamOpen: false);
            // Test only: the client trusts the one certificate the server was just given.
            var client = new SslStream(clientSocket.GetStream(), false, (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString());
            await Task.WhenAll(
                server.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }),
                client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" })).DefaultTimeout();
            return new TlsPair(client, server, certificate);
        }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            _certificate.Dispose();
        }
    }
}
