namespace NodeAgent.Server.Hosting;

internal static partial class PlanServerApp
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Could not set glibc's mmap threshold; freed native memory may stay in the RSS after many agents connect at once")]
    private static partial void LogNativeHeapDefault(ILogger logger);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "This runtime's SslStream or OpenSSL is not the one the idle-buffer release was written for; each TLS connection keeps ~34 KiB of OpenSSL buffers while idle")]
    private static partial void LogTlsBuffersKept(ILogger logger);
}
