using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// A runtime binary for restore modes: a script that answers <c>--version</c> as K3s/RKE2 do
/// ("k3s version v1.30.4+k3s1 (hash)") with the version it was made as. Installing a version is then
/// putting another such script in place, as installing the real binary would be.
/// </summary>
internal static class FakeRuntime
{
    public static string Write(string path, string runtime, string version)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $"#!/bin/sh\nif [ \"$1\" = --version ]; then echo '{runtime} version {version} (0123abcd)'; echo 'go version go1.22.5'; exit 0; fi\nexit 0\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }
}

/// <summary>Every log line written, formatted, to search for what must never be logged.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new ListLogger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class ListLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
