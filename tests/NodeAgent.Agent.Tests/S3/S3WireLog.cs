using System.Collections.Concurrent;
using System.Globalization;
using System.Web;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>One part request as sent: its number, length and the checksum headers.</summary>
internal sealed record WirePart(int Number, long Length, string? ContentSha256, string? ContentMd5);

/// <summary>
/// Sits between the SDK and the real connection and notes every request (method and query),
/// every part's headers and every single PUT's; with <see cref="BreakPart"/>, that part's body stops with a broken
/// connection after 1 MiB, and with <see cref="CorruptPart"/> it arrives with one byte changed, every time it is sent.
/// </summary>
internal sealed class S3WireLog
{
    public int? BreakPart { get; init; }

    /// <summary>That part's body has one byte changed on the way (its headers, checksums included, stay as sent), every time it is sent.</summary>
    public int? CorruptPart { get; init; }

    public ConcurrentQueue<WirePart> Parts { get; } = new();

    public ConcurrentQueue<string> Requests { get; } = new();

    /// <summary>Whole objects sent in a single PUT (not parts), as <see cref="WirePart"/>s numbered 0.</summary>
    public ConcurrentQueue<WirePart> SinglePuts { get; } = new();

    public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Recorder(this) { InnerHandler = inner };

    private sealed class Recorder(S3WireLog log) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            log.Requests.Enqueue($"{request.Method} {uri.Query}");
            if (request.Method == HttpMethod.Put && uri.Query.Length == 0 && request.Content is { } whole)
            {
                log.SinglePuts.Enqueue(new WirePart(0, whole.Headers.ContentLength ?? -1, Header(request, "x-amz-content-sha256"), Header(request, "Content-MD5")));
            }
            if (request.Method == HttpMethod.Put && HttpUtility.ParseQueryString(uri.Query)["partNumber"] is { } partNumber && request.Content is { } content)
            {
                var number = int.Parse(partNumber, CultureInfo.InvariantCulture);
                log.Parts.Enqueue(new WirePart(number, content.Headers.ContentLength ?? -1, Header(request, "x-amz-content-sha256"), Header(request, "Content-MD5")));
                if (number == log.BreakPart)
                {
                    request.Content = WithHeadersOf(content, new StreamContent(new BreaksAfter(await content.ReadAsStreamAsync(cancellationToken), 1024 * 1024)));
                }
                if (number == log.CorruptPart)
                {
                    var body = await content.ReadAsByteArrayAsync(cancellationToken);
                    body[body.Length / 2] ^= 0x01;
                    request.Content = WithHeadersOf(content, new ByteArrayContent(body));
                }
            }
            return await base.SendAsync(request, cancellationToken);
        }

        private static HttpContent WithHeadersOf(HttpContent original, HttpContent replacement)
        {
            foreach (var (name, values) in original.Headers)
            {
                replacement.Headers.Remove(name);
                replacement.Headers.TryAddWithoutValidation(name, values);
            }
            return replacement;
        }

        private static string? Header(HttpRequestMessage request, string name)
            => request.Headers.TryGetValues(name, out var values) || (request.Content?.Headers.TryGetValues(name, out values) ?? false) ? values!.Single() : null;
    }
}

/// <summary>A body whose connection breaks after <paramref name="limit"/> bytes.</summary>
internal sealed class BreaksAfter(Stream inner, int limit) : Stream
{
    private int _read;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => _read; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_read >= limit)
        {
            throw new IOException("connection reset by the test, halfway through the part");
        }
        var read = inner.Read(buffer[..Math.Min(buffer.Length, limit - _read)]);
        _read += read;
        return read;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
