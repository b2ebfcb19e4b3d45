using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace NodeAgent.Server.Security;

/// <summary>
/// Lets OpenSSL free a TLS connection's record buffers while the connection is idle
/// (SSL_MODE_RELEASE_BUFFERS, which nginx sets by default). Without it every connected agent holds a
/// ~17 KiB read and a ~17 KiB write buffer in OpenSSL for as long as its long-poll waits: 34 of the
/// ~50 KiB of native memory per agent that issue 17 measured. .NET sets no such mode and has no
/// public way to, so the connection's SSL* is read from SslStream's private field. When a runtime
/// moves that field, connections keep their buffers (nothing else changes) and
/// OpenSslIdleBuffersTests fails, which is how we learn of it.
/// </summary>
internal static partial class OpenSslIdleBuffers
{
    private const int SslCtrlMode = 33;            // SSL_CTRL_MODE
    private const nint ModeReleaseBuffers = 0x10;  // SSL_MODE_RELEASE_BUFFERS

    private static readonly FieldInfo? SslHandleField = FindSslHandleField();

    /// <summary>True when this runtime's SslStream and OpenSSL are the ones this was written against.</summary>
    public static bool IsAvailable => SslHandleField is not null;

    /// <summary>
    /// After the handshake of each connection on <paramref name="listen"/>, and before HTTP/2 reads
    /// or writes the stream (so no other thread is inside OpenSSL on that connection), sets the mode.
    /// </summary>
    public static void Apply(ListenOptions listen)
        => listen.Use(next => connection =>
        {
            if (connection.Features.Get<ISslStreamFeature>()?.SslStream is { } ssl)
            {
                TrySetReleaseBuffers(ssl);
            }
            return next(connection);
        });

    /// <summary>Sets SSL_MODE_RELEASE_BUFFERS on an authenticated stream; false when it cannot.</summary>
    public static bool TrySetReleaseBuffers(SslStream stream) => TryControlMode(stream, ModeReleaseBuffers, out _);

    /// <summary>The connection's OpenSSL mode bits (for tests).</summary>
    public static long? Mode(SslStream stream) => TryControlMode(stream, 0, out var mode) ? mode : null;

    private static bool TryControlMode(SslStream stream, nint add, out long mode)
    {
        mode = 0;
        if (SslHandleField?.GetValue(stream) is not SafeHandle { IsInvalid: false, IsClosed: false } handle)
        {
            return false;
        }
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (handle.DangerousGetHandle() == 0)
            {
                // A context that wraps its SSL* elsewhere (another runtime's layout): never hand OpenSSL a null.
                return false;
            }
            // SSL_set_mode(ssl, m) is SSL_ctrl(ssl, SSL_CTRL_MODE, m, NULL): it ORs m in and returns the new mode.
            mode = SslCtrl(handle.DangerousGetHandle(), SslCtrlMode, add, 0);
            return (mode & ModeReleaseBuffers) != 0 || add == 0;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static FieldInfo? FindSslHandleField()
    {
        // The runtime loads libssl.so.3 for OpenSSL 3 (0x3xxxxxxx); this binds to the same library.
        if (!OperatingSystem.IsLinux() || SafeEvpPKeyHandle.OpenSslVersion >> 28 != 3)
        {
            return null;
        }
        var field = typeof(SslStream).GetField("_securityContext", BindingFlags.Instance | BindingFlags.NonPublic);
        return field is not null && typeof(SafeHandle).IsAssignableFrom(field.FieldType) ? field : null;
    }

    [LibraryImport("libssl.so.3", EntryPoint = "SSL_ctrl")]
    private static partial nint SslCtrl(nint ssl, int cmd, nint larg, nint parg);
}
