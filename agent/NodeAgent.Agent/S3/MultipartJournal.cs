using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using NodeAgent.Agent.Files;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.S3;

/// <summary>
/// The multipart uploads this node has started and not yet completed or aborted, one file each
/// (<c>&lt;snapshot dir&gt;/../.metadata/.uploads/</c>, 0600). While its upload runs, a file is
/// held open with an exclusive lock; a file nobody holds is an upload whose process died or whose
/// abort could not reach S3, and the next run aborts it — so a server that vanished mid-upload
/// leaves no parts behind once it is back. S3's own ListMultipartUploads is not relied on:
/// not every store has it, and it would show other nodes' uploads too.
/// </summary>
internal sealed class MultipartJournal(string directory)
{
    public string Directory { get; } = directory;

    public static MultipartJournal ForSnapshotDir(string snapshotDir)
        => new(Path.Combine(new SnapshotSidecars(snapshotDir).Directory, ".uploads"));

    /// <summary>Records an upload that has just been initiated; dispose the entry when it is completed or aborted.</summary>
    public Entry Record(string bucket, string key, string uploadId)
    {
        LinuxFiles.CreatePrivateDirectory(Directory);
        var path = Path.Combine(Directory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(uploadId)))[..24]);
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.ReadWrite,
            // FileShare.None is an exclusive flock on Linux: the mark of a live upload.
            Share = FileShare.None,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        JsonSerializer.Serialize(stream, new PendingUpload(bucket, key, uploadId), MultipartJournalJsonContext.Default.PendingUpload);
        stream.Flush(flushToDisk: true);
        return new Entry(path, stream);
    }

    /// <summary>Uploads left behind: recorded, and no process holds them any more.</summary>
    public IReadOnlyList<(PendingUpload Upload, string Path)> Stale()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }
        var stale = new List<(PendingUpload, string)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(Directory))
        {
            try
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
                if (JsonSerializer.Deserialize(stream, MultipartJournalJsonContext.Default.PendingUpload) is { } upload)
                {
                    stale.Add((upload, path));
                }
            }
            catch (IOException)
            {
                // Held by a running upload, or gone meanwhile.
            }
            catch (JsonException)
            {
                // Torn by a crash before its first flush: nothing was uploaded under it.
                File.Delete(path);
            }
        }
        return stale;
    }

    /// <summary>A live upload's record: disposing it with <see cref="Forget"/> removes it, without leaves it for the next run.</summary>
    internal sealed class Entry(string path, FileStream stream) : IDisposable
    {
        private bool _forget;

        /// <summary>The upload is complete or aborted: the record goes when disposed.</summary>
        public void Forget() => _forget = true;

        public void Dispose()
        {
            if (_forget)
            {
                File.Delete(path);
            }
            stream.Dispose();
        }
    }
}

/// <summary>One journaled multipart upload.</summary>
internal sealed record PendingUpload(string Bucket, string Key, string UploadId);

/// <summary>Source-generated JSON for the journal's entries.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(PendingUpload))]
internal sealed partial class MultipartJournalJsonContext : JsonSerializerContext;
