using System.Buffers;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace NodeAgent.Agent.Etcd;

/// <summary>
/// Reads etcd's <c>SnapshotResponse</c> messages into one reused buffer instead of a new
/// <c>ByteString</c> per 32 KiB message, so a 1 GB snapshot allocates nothing per chunk and the
/// agent's memory stays flat (the generated parser allocates the whole db size in small arrays,
/// and the GC's young-generation budget shows up as resident memory). Only field 3 (<c>blob</c>)
/// is kept; the header and remaining_bytes are skipped. A chunk is valid until the next one is read,
/// which the server-streaming reader guarantees: it deserializes the next message only on MoveNext.
/// </summary>
internal sealed class SnapshotChunkMarshaller
{
    private const int BlobField = 3;
    private byte[] _buffer = new byte[64 * 1024];
    private int _length;

    public ReadOnlyMemory<byte> Blob => _buffer.AsMemory(0, _length);

    /// <summary>A Snapshot method bound to this instance's buffer: one per call.</summary>
    public Method<SnapshotRequest, SnapshotChunkMarshaller> CreateMethod() => new(
        MethodType.ServerStreaming,
        "etcdserverpb.Maintenance",
        "Snapshot",
        Marshallers.Create(r => r.ToByteArray(), SnapshotRequest.Parser.ParseFrom),
        new Marshaller<SnapshotChunkMarshaller>(
            (_, _) => throw new NotSupportedException("a snapshot chunk is only ever received"),
            context => Parse(context.PayloadAsReadOnlySequence())));

    internal SnapshotChunkMarshaller Parse(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        _length = 0;
        while (!reader.End)
        {
            var tag = ReadVarint(ref reader);
            var field = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    ReadVarint(ref reader);
                    break;
                case 1:
                    Skip(ref reader, 8);
                    break;
                case 5:
                    Skip(ref reader, 4);
                    break;
                case 2:
                    var length = checked((int)ReadVarint(ref reader));
                    if (field == BlobField)
                    {
                        if (_buffer.Length < length)
                        {
                            _buffer = new byte[Math.Max(length, _buffer.Length * 2)];
                        }
                        if (!reader.TryCopyTo(_buffer.AsSpan(0, length)))
                        {
                            throw new InvalidDataException("etcd snapshot message is cut short inside its blob");
                        }
                        reader.Advance(length);
                        _length = length;
                    }
                    else
                    {
                        Skip(ref reader, length);
                    }
                    break;
                default:
                    throw new InvalidDataException($"etcd snapshot message has field {field} of unsupported wire type {tag & 7}");
            }
        }
        return this;
    }

    private static void Skip(ref SequenceReader<byte> reader, long count)
    {
        if (reader.Remaining < count)
        {
            throw new InvalidDataException("etcd snapshot message is cut short");
        }
        reader.Advance(count);
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                throw new InvalidDataException("etcd snapshot message is cut short inside a varint");
            }
            value |= (ulong)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }
        throw new InvalidDataException("etcd snapshot message has a varint longer than 10 bytes");
    }
}
