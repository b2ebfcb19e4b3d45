using System.Security.Cryptography;
using Amazon.S3;
using NodeAgent.Agent.Files;
using NodeAgent.Agent.Snapshots;
using Polly;

namespace NodeAgent.Agent.S3;

/// <summary>A snapshot out of S3 for a restore: downloaded, verified against its metadata and etcd's trailer, unzipped.</summary>
internal sealed class S3SnapshotDownloader(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry, TimeProvider time, S3SnapshotCatalog catalog, ILogger logger)
{
    /// <summary>
    /// Downloads a snapshot for a restore into <paramref name="directory"/>: streamed to a temporary file (outside the dir, see <see cref="SnapshotTempFiles"/>),
    /// checked against the sha256 in its metadata object and, for a plain snapshot, against etcd's own
    /// sha256 trailer; only then renamed. A <c>.zip</c> is also unpacked (entry base name only) and the
    /// unpacked snapshot checked the same way. Returns the file as downloaded (size and sha256, hashed
    /// as it was written) and the path of the snapshot a restore can use.
    /// </summary>
    public async Task<SnapshotDownload> DownloadAsync(string name, string directory, CancellationToken cancellationToken)
    {
        SnapshotNames.ValidateFileName(name);
        LinuxFiles.CreatePrivateDirectory(directory);
        SnapshotTempFiles.WarnIfInSnapshotDir(directory, logger);
        var metadata = await catalog.ReadMetadataAsync(name, cancellationToken);
        var target = Path.Combine(directory, name);
        var zipped = name.EndsWith(SnapshotNames.ZipSuffix, StringComparison.Ordinal);
        SnapshotFileInfo file;
        try
        {
            using var response = await retry.ExecuteAsync(async ct => await s3.GetObjectAsync(settings.Bucket, settings.KeyOf(name), ct), cancellationToken);
            // The request's timeout ends with the headers; the body is read under --s3-timeout too.
            await using var body = new S3BodyTimeout(response.ResponseStream, settings.Timeout, time);
            file = zipped
                ? await CopyVerbatimAsync(body, target, cancellationToken)
                : await SnapshotFileWriter.WriteVerifiedAsync(body, target, cancellationToken);
        }
        catch (SnapshotStreamException ex)
        {
            throw new S3TargetException($"s3://{settings.Bucket}/{settings.KeyOf(name)} is not a whole etcd snapshot: {ex.Message}");
        }
        catch (IOException ex) when (DiskErrors.IsFullOrReadOnly(ex))
        {
            // The local disk, not S3: the writer has removed its .part; nothing else is touched.
            throw new IOException($"download of s3://{settings.Bucket}/{settings.KeyOf(name)} failed: snapshot {name} could not be written to {directory}: {DiskErrors.Describe(ex)}; nothing of it was kept", ex);
        }
        catch (Exception ex) when (ex is AmazonS3Exception or HttpRequestException or IOException or TimeoutException or Polly.Timeout.TimeoutRejectedException && ex is not SnapshotRequestException)
        {
            throw new S3TargetException($"download of s3://{settings.Bucket}/{settings.KeyOf(name)} failed: {S3Errors.Describe(ex, settings)}", ex);
        }
        if (metadata is { Sha256.Length: > 0 } && metadata.Sha256 != file.Sha256)
        {
            File.Delete(file.Path);
            throw new S3TargetException($"s3://{settings.Bucket}/{settings.KeyOf(name)} has sha256 {file.Sha256}, its metadata says {metadata.Sha256}: not restoring from it");
        }
        if (!zipped)
        {
            return new SnapshotDownload(file, file.Path);
        }
        try
        {
            var unpacked = await SnapshotZip.ExtractAsync(file.Path, directory, cancellationToken);
            if (metadata is { SnapshotSha256.Length: > 0 } && metadata.SnapshotSha256 != unpacked.Sha256)
            {
                File.Delete(unpacked.Path);
                throw new S3TargetException($"the snapshot in {name} has sha256 {unpacked.Sha256}, its metadata says {metadata.SnapshotSha256}");
            }
            return new SnapshotDownload(file, unpacked.Path);
        }
        catch (SnapshotStreamException ex)
        {
            throw new S3TargetException($"the snapshot in {name} is not a whole etcd snapshot: {ex.Message}");
        }
        catch (IOException ex) when (DiskErrors.IsFullOrReadOnly(ex))
        {
            // The local disk, as for the download itself: the writer has removed its .part, and the zip
            // goes too (S3 still has it; the full disk gets its space back and the dir is as it was).
            File.Delete(file.Path);
            throw new IOException($"download of s3://{settings.Bucket}/{settings.KeyOf(name)} failed: snapshot {name} could not be unzipped to {directory}: {DiskErrors.Describe(ex)}; nothing of it was kept", ex);
        }
    }

    /// <summary>Any bytes into a file through a temporary file (<see cref="SnapshotTempFiles"/>), with their sha256.</summary>
    private static async Task<SnapshotFileInfo> CopyVerbatimAsync(Stream source, string target, CancellationToken cancellationToken)
    {
        if (File.Exists(target))
        {
            throw new SnapshotRequestException($"{target} already exists");
        }
        var part = SnapshotTempFiles.PathFor(target);
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long length = 0;
            await using (var output = new FileStream(part, new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                BufferSize = 1024 * 1024,
            }))
            {
                var buffer = new byte[1024 * 1024];
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer.AsSpan(0, read));
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    length += read;
                }
                await output.FlushAsync(cancellationToken);
                output.Flush(flushToDisk: true);
            }
            File.Move(part, target);
            return new SnapshotFileInfo(target, length, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        catch
        {
            File.Delete(part);
            throw;
        }
    }
}
