using Amazon.S3;
using NodeAgent.Agent.Snapshots;
using Polly;

namespace NodeAgent.Agent.S3;

/// <summary>
/// Snapshots in S3, laid out as K3s lays them out: <c>&lt;folder&gt;/&lt;file&gt;</c> and
/// <c>&lt;folder&gt;/.metadata/&lt;file&gt;</c>, both with K3s's user metadata
/// (<c>&lt;runtime&gt;-cluster-id</c>, <c>-node-name</c>, <c>-token-hash</c>). The one
/// <see cref="IS3SnapshotStore"/>: each job is a type of its own (<see cref="S3Preflight"/>,
/// <see cref="S3SnapshotUploader"/>, <see cref="S3SnapshotCatalog"/>, <see cref="S3SnapshotDownloader"/>,
/// <see cref="S3SnapshotDeleter"/>, <see cref="S3StaleUploads"/>); this class only wires them to one
/// client (which it owns and disposes), target and retry pipeline.
/// </summary>
internal sealed class S3SnapshotStore : IS3SnapshotStore
{
    private readonly S3Preflight _preflight;
    private readonly S3SnapshotUploader _uploader;
    private readonly S3SnapshotCatalog _catalog;
    private readonly S3SnapshotDownloader _downloader;
    private readonly S3SnapshotDeleter _deleter;
    private readonly S3StaleUploads _stale;
    private readonly IAmazonS3 _client;

    public S3SnapshotStore(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry, TimeProvider time, ILogger<S3SnapshotStore> logger, MultipartJournal? journal = null)
    {
        Settings = settings;
        _client = s3;
        _preflight = new S3Preflight(s3, settings, retry);
        _uploader = new S3SnapshotUploader(s3, settings, retry, logger, journal);
        _catalog = new S3SnapshotCatalog(s3, settings, retry);
        _downloader = new S3SnapshotDownloader(s3, settings, retry, time, _catalog, logger);
        _deleter = new S3SnapshotDeleter(s3, settings, retry, _catalog);
        _stale = new S3StaleUploads(s3, settings, retry, logger, journal);
    }

    public S3Settings Settings { get; }

    public string Target => Settings.ToString();

    public string Bucket => Settings.Bucket;

    public string FolderLocation => $"s3://{Settings.Bucket}/{Settings.FolderPrefix}";

    public string LocationOf(string name) => $"s3://{Settings.Bucket}/{Settings.KeyOf(name)}";

    /// <summary>
    /// Whether parts carry Content-MD5: Object-Lock buckets refuse parts without it. True until a
    /// preflight has seen that the bucket has no Object Lock (MD5 costs a CPU pass over every byte,
    /// and each part's body is already proven by its signed SHA-256).
    /// </summary>
    public bool ContentMd5 => _uploader.ContentMd5;

    public async Task PreflightAsync(CancellationToken cancellationToken)
        => _uploader.ContentMd5 = await _preflight.RunAsync(cancellationToken);

    public Task<int> AbortStaleUploadsAsync(CancellationToken cancellationToken) => _stale.AbortAsync(cancellationToken);

    public Task<S3SnapshotObject> UploadAsync(string path, SnapshotMetadata metadata, CancellationToken cancellationToken)
        => _uploader.UploadAsync(path, metadata, cancellationToken);

    /// <summary>An upload that runs alongside a save (see <see cref="S3StreamingUpload"/>); its metadata object follows with <see cref="PutMetadataAsync"/>.</summary>
    public S3StreamingUpload StartUpload(string fileName, SnapshotSaveRequest request) => _uploader.StartUpload(fileName, request);

    ISnapshotTee IS3SnapshotStore.StartUpload(string fileName, SnapshotSaveRequest request) => StartUpload(fileName, request);

    public Task PutMetadataAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) => _uploader.PutMetadataAsync(metadata, cancellationToken);

    public Task<IReadOnlyList<S3SnapshotObject>> ListAsync(CancellationToken cancellationToken) => _catalog.ListAsync(cancellationToken);

    public Task<SnapshotDownload> DownloadAsync(string name, string directory, CancellationToken cancellationToken)
        => _downloader.DownloadAsync(name, directory, cancellationToken);

    public Task<IReadOnlyList<(S3SnapshotObject Object, S3DeleteResult Result)>> PruneAsync(string prefix, int keep, string? nodeName, CancellationToken cancellationToken)
        => _deleter.PruneAsync(prefix, keep, nodeName, cancellationToken);

    public Task<S3DeleteResult> DeleteAsync(string name, CancellationToken cancellationToken) => _deleter.DeleteAsync(name, cancellationToken);

    /// <summary>Disposes the S3 client (its connections): the store owns it.</summary>
    public void Dispose() => _client.Dispose();
}
