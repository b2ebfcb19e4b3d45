using Amazon.S3;
using Amazon.S3.Model;
using NodeAgent.Agent.Snapshots;
using Polly;

namespace NodeAgent.Agent.S3;

/// <summary>
/// Uploads a snapshot while it is being saved: each part goes up as soon as it is full, up to
/// <see cref="S3Settings.ParallelParts"/> at a time, and the save waits when all are busy, so memory
/// stays within part size × (parallel parts + 1) (<see cref="S3PartBuffers"/>) and save + upload take about as long as the slower
/// of the two. A snapshot smaller than one part becomes a single PUT. Every part's body is proven to
/// the server, hashed once off the save's receive path: over TLS by its Content-MD5 (UNSIGNED-PAYLOAD,
/// as K3s's minio-go sends it), which the answer's ETag must match (<see cref="S3StoredBody"/>), over plain
/// HTTP by SigV4's payload SHA-256 (plus Content-MD5 where Object Lock requires it).
/// Any failure aborts the multipart upload (no orphan parts) and is reported, never thrown into the save;
/// an abort that cannot reach S3 stays in the <see cref="MultipartJournal"/> for the next run.
/// A hung S3 never holds the save for long: every request ends within <see cref="S3Settings.Timeout"/>
/// (so does a wait for a free part slot, which a part frees when it ends), the whole upload within
/// <see cref="S3Settings.UploadDeadline"/>, and after a failure the rest of the bytes are ignored.
/// </summary>
internal sealed class S3StreamingUpload : ISnapshotTee
{
    private readonly IAmazonS3 _s3;
    private readonly S3Settings _settings;
    private readonly ResiliencePipeline _retry;
    private readonly string _key;
    private readonly string _contentType;
    private readonly Dictionary<string, string> _userMetadata;
    private readonly SemaphoreSlim _slots;
    private readonly List<Task> _running = [];
    private readonly List<PartETag> _etags = [];
    private readonly CancellationTokenSource _abort = new();
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenSource _parts;
    private readonly MultipartJournal? _journal;
    private readonly S3PartBuffers _buffers;
    private readonly bool _contentMd5;
    private MultipartJournal.Entry? _journaled;
    private byte[]? _buffer;
    private int _filled;
    private int _partNumber;
    private string? _uploadId;
    private string? _failure;

    public S3StreamingUpload(IAmazonS3 s3, S3Settings settings, ResiliencePipeline retry, string fileName, Dictionary<string, string> userMetadata, MultipartJournal? journal,
        bool contentMd5)
    {
        _contentMd5 = contentMd5;
        _journal = journal;
        _s3 = s3;
        _settings = settings;
        _retry = retry;
        _key = settings.KeyOf(fileName);
        _contentType = S3Objects.ContentTypeOf(fileName);
        _userMetadata = userMetadata;
        _slots = new SemaphoreSlim(settings.ParallelParts);
        _buffers = new S3PartBuffers((int)settings.PartSizeBytes, settings.ParallelParts + 1);
        _deadline = new CancellationTokenSource(settings.UploadDeadline);
        _parts = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token, _deadline.Token);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty && _failure is null)
        {
            _buffer ??= _buffers.Rent();
            var count = Math.Min(bytes.Length, (int)_settings.PartSizeBytes - _filled);
            bytes.Span[..count].CopyTo(_buffer.AsSpan(_filled));
            _filled += count;
            bytes = bytes[count..];
            if (_filled == _settings.PartSizeBytes)
            {
                await StartPartAsync(cancellationToken);
            }
        }
    }

    /// <summary>How many part buffers this upload made (at most <see cref="S3Settings.ParallelParts"/> + 1, reused part after part).</summary>
    public int PartBuffersAllocated => _buffers.Allocated;

    public async Task<string?> CompleteAsync(CancellationToken cancellationToken)
    {
        if (_failure is not null)
        {
            await AbortAsync();
            return _failure;
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token);
        try
        {
            if (_uploadId is null)
            {
                await PutWholeAsync(bounded.Token);
                return null;
            }
            if (_filled > 0)
            {
                await StartPartAsync(cancellationToken);
            }
            await Task.WhenAll(_running);
            if (_failure is not null)
            {
                await AbortAsync();
                return _failure;
            }
            var parts = _etags.OrderBy(e => e.PartNumber).ToList();
            await _retry.ExecuteAsync(async ct => await _s3.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _settings.Bucket,
                Key = _key,
                UploadId = _uploadId,
                PartETags = parts,
            }, ct), bounded.Token);
            _journaled?.Forget();
            return null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _failure ??= _deadline.IsCancellationRequested ? S3Errors.UploadTimedOut(_settings) : S3Errors.Describe(ex, _settings);
            await AbortAsync();
            return _failure;
        }
    }

    public async Task AbortAsync()
    {
        await _abort.CancelAsync();
        try
        {
            await Task.WhenAll(_running);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Each part records its own failure.
        }
        if (_uploadId is { } id)
        {
            _uploadId = null;
            try
            {
                using var timeout = new CancellationTokenSource(_settings.Timeout);
                await _retry.ExecuteAsync(async ct => await _s3.AbortMultipartUploadAsync(_settings.Bucket, _key, id, ct), timeout.Token);
                _journaled?.Forget();
            }
            catch (Exception ex) when (S3Errors.CannotAbort(ex))
            {
                // The store has no AbortMultipartUpload (s3rver): nothing any client can do.
                _journaled?.Forget();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _failure ??= "could not abort the multipart upload: " + S3Errors.Describe(ex, _settings);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _journaled?.Dispose();
        _slots.Dispose();
        _parts.Dispose();
        _deadline.Dispose();
        _abort.Dispose();
        await ValueTask.CompletedTask;
    }

    private async Task StartPartAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token);
        try
        {
            if (_uploadId is null)
            {
                var initiate = new InitiateMultipartUploadRequest { BucketName = _settings.Bucket, Key = _key, ContentType = _contentType };
                S3Objects.CopyTo(_userMetadata, initiate.Metadata);
                _uploadId = (await _retry.ExecuteAsync(async ct => await _s3.InitiateMultipartUploadAsync(initiate, ct), bounded.Token)).UploadId;
                _journaled = _journal?.Record(_settings.Bucket, _key, _uploadId);
            }
            // Bounded: each running part ends (and frees its slot) within the request timeout or at the deadline.
            await _slots.WaitAsync(bounded.Token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _failure ??= _deadline.IsCancellationRequested ? S3Errors.UploadTimedOut(_settings) : S3Errors.Describe(ex, _settings);
            return;
        }
        var buffer = _buffer!;
        var length = _filled;
        var number = ++_partNumber;
        _buffer = null;
        _filled = 0;
        _running.Add(Task.Run(() => UploadPartAsync(buffer, length, number), CancellationToken.None));
    }

    private async Task UploadPartAsync(byte[] buffer, int length, int number)
    {
        try
        {
            // One hash per byte, here on the part's own task, never on the save's receive path:
            // over TLS the body goes UNSIGNED-PAYLOAD and its Content-MD5 proves it; over plain HTTP
            // the SDK signs the body's SHA-256 (and Object-Lock buckets get Content-MD5 as well).
            var unsigned = !_settings.Insecure;
            var md5 = _contentMd5 || unsigned ? ContentMd5.Of(buffer.AsSpan(0, length)) : null;
            var response = await _retry.ExecuteAsync(async ValueTask<UploadPartResponse> (ct) =>
            {
                var answer = await _s3.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _settings.Bucket,
                    Key = _key,
                    UploadId = _uploadId,
                    PartNumber = number,
                    InputStream = new MemoryStream(buffer, 0, length, writable: false),
                    PartSize = length,
                    MD5Digest = md5,
                    UseChunkEncoding = false,
                    DisablePayloadSigning = unsigned,
                    // The SDK's check MD5-hashes the body again to compare with the ETag; ours uses the MD5 made above.
                    DisableDefaultChecksumValidation = true,
                }, ct);
                S3StoredBody.Check(md5, answer.ETag, answer.ServerSideEncryptionMethod, customerKey: !string.IsNullOrEmpty(answer.SSECustomerAlgorithm));
                return answer;
            }, _parts.Token);
            lock (_etags)
            {
                _etags.Add(new PartETag(number, response.ETag));
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _failure ??= _deadline.IsCancellationRequested ? S3Errors.UploadTimedOut(_settings) : $"part {number}: {S3Errors.Describe(ex, _settings)}";
        }
        finally
        {
            _buffers.Return(buffer);
            _slots.Release();
        }
    }

    private async Task PutWholeAsync(CancellationToken cancellationToken)
    {
        var body = _buffer ?? [];
        var length = _filled;
        await _retry.ExecuteAsync(async ct => await S3Objects.PutAsync(_s3, S3Objects.Put(_settings, _key, body, length, _contentType, _userMetadata, _contentMd5), ct), cancellationToken);
    }
}
