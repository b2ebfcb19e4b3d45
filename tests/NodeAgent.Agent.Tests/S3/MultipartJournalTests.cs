using NodeAgent.Agent.S3;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.S3;

public sealed class MultipartJournalTests : IDisposable
{
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Record_FirstUploadOfANode_MakesMetadataAndUploadsDirs0700()
    {
        var journal = MultipartJournal.ForSnapshotDir(_root.Combine("db", "snapshots"));

        using (var entry = journal.Record("bucket", "folder/on-demand-n1-1700000000", "upload-1"))
        {
            entry.Forget();
        }

        Assert.Equal(Mode0700, File.GetUnixFileMode(_root.Combine("db", ".metadata")));
        Assert.Equal(Mode0700, File.GetUnixFileMode(_root.Combine("db", ".metadata", ".uploads")));
    }
}
