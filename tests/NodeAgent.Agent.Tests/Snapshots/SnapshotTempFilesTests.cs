using Microsoft.Extensions.Logging;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>Where temporary snapshot files go: beside the snapshot dir, unless that is another device.</summary>
public sealed class SnapshotTempFilesTests : IDisposable
{
    private readonly TempDir _root = new();
    private readonly string _dir;

    public SnapshotTempFilesTests() => _dir = _root.Combine("server", "db", "snapshots");

    public void Dispose() => _root.Dispose();

    [Fact]
    public void PathFor_SameDevice_IsInTheNodeAgentTmpDirBesideTheSnapshotDir_Mode0700()
    {
        Directory.CreateDirectory(_dir);

        var temp = SnapshotTempFiles.PathFor(Path.Combine(_dir, "on-demand-n1-1700000000.zip"), _ => 7);

        Assert.Equal(_root.Combine("server", "db", ".nodeagent", "tmp", "on-demand-n1-1700000000.zip.part"), temp);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(temp)!));
    }

    [Fact]
    public void PathFor_TempDirOnAnotherDevice_IsAPartInTheSnapshotDir()
    {
        Directory.CreateDirectory(_dir);
        var temp = SnapshotTempFiles.DirectoryFor(_dir);

        var path = SnapshotTempFiles.PathFor(Path.Combine(_dir, "on-demand-n1-1700000000"), d => d == temp ? 2UL : 1UL);

        Assert.Equal(Path.Combine(_dir, "on-demand-n1-1700000000.part"), path);
    }

    [Fact]
    public void PathFor_DeviceUnreadable_IsAPartInTheSnapshotDir()
    {
        Directory.CreateDirectory(_dir);

        var path = SnapshotTempFiles.PathFor(Path.Combine(_dir, "on-demand-n1-1700000000"), _ => null);

        Assert.Equal(Path.Combine(_dir, "on-demand-n1-1700000000.part"), path);
    }

    [Fact]
    public void PathFor_RealDevices_OfOneFileSystem_IsInTheTmpDir()
    {
        Directory.CreateDirectory(_dir);

        var path = SnapshotTempFiles.PathFor(Path.Combine(_dir, "on-demand-n1-1700000000"));

        Assert.Equal(Path.Combine(SnapshotTempFiles.DirectoryFor(_dir), "on-demand-n1-1700000000.part"), path);
    }

    [Fact]
    public void WarnIfInSnapshotDir_AnotherDevice_WarnsOnceWithWhy()
    {
        Directory.CreateDirectory(_dir);
        var temp = SnapshotTempFiles.DirectoryFor(_dir);
        var logger = new CollectingLogger();

        SnapshotTempFiles.WarnIfInSnapshotDir(_dir, logger, d => d == temp ? 2UL : 1UL);
        SnapshotTempFiles.WarnIfInSnapshotDir(_dir, logger, d => d == temp ? 2UL : 1UL);

        var (level, message) = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Equal($"Temporary snapshot files are written in the snapshot dir {_dir} as <file>.part: {temp} is on another device, and a rename across devices is not possible; k3s etcd-snapshot ls may list a .part while a save or download runs", message);
    }

    [Fact]
    public void WarnIfInSnapshotDir_SameDevice_SaysNothing()
    {
        Directory.CreateDirectory(_dir);
        var logger = new CollectingLogger();

        SnapshotTempFiles.WarnIfInSnapshotDir(_dir, logger, _ => 7);

        Assert.Empty(logger.Entries);
    }

    private sealed class CollectingLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Entries.Add((logLevel, formatter(state, exception)));
    }
}
