using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

/// <summary>
/// Every enum field reachable from every request of every service, found from the descriptors (so
/// a new method or field is covered without editing this test), gets an undefined number through
/// a real server, which must answer INVALID_ARGUMENT naming the field.
/// </summary>
public sealed class EnumValidationTests : IAsyncLifetime
{
    private const int Undefined = 99;
    private InProcessPlanServer _server = null!;
    private GrpcChannel _admin = null!;
    private GrpcChannel _node = null!;

    public static TheoryData<string, string> EnumFields()
    {
        var data = new TheoryData<string, string>();
        foreach (var method in Methods())
        {
            foreach (var path in EnumPaths(method.InputType, [], []))
            {
                data.Add(method.FullName, string.Join('.', path.Select(f => f.Name)));
            }
        }
        return data;
    }

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        _admin = _server.CreateAdminChannel();
        var created = await new ClusterService.ClusterServiceClient(_admin)
            .CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Runtime.Etcd }).ResponseAsync.DefaultTimeout();
        var registered = await new AgentService.AgentServiceClient(_server.CreateChannel())
            .RegisterAsync(new RegisterRequest { Cluster = "prod", Node = "node-1", BootstrapToken = created.BootstrapToken }).ResponseAsync.DefaultTimeout();
        _node = _server.CreateChannel(registered.NodeCredential);
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        _node.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public void EnumFields_EveryService_FindsTheKnownEnumFields()
    {
        var fields = EnumFields().Select(row => $"{row[0]} {row[1]}").ToList();

        Assert.Contains("nodeagent.v1.ClusterService.CreateCluster runtime", fields);
        Assert.Contains("nodeagent.v1.ClusterService.CreateCluster snapshot_settings.s3.bucket_lookup", fields);
        Assert.Contains("nodeagent.v1.SnapshotService.RestoreSnapshot restore_mode", fields);
        Assert.Contains("nodeagent.v1.AgentService.Register roles", fields);
        Assert.Contains("nodeagent.v1.AgentService.ReportStatus steps.state", fields);
    }

    [Theory]
    [MemberData(nameof(EnumFields))]
    public async Task Call_UndefinedEnumValue_InvalidArgumentNamingTheField(string methodName, string fieldPath)
    {
        var method = Methods().Single(m => m.FullName == methodName);
        var path = EnumPaths(method.InputType, [], []).Single(p => string.Join('.', p.Select(f => f.Name)) == fieldPath);
        var request = Encode(path);
        var channel = method.Service.Name == AgentService.Descriptor.Name && method.Name != "Register" ? _node : _admin;

        var ex = await Assert.ThrowsAsync<RpcException>(() => CallAsync(channel, method, request)).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith($"{ExpectedPath(path)}: {Undefined} is not a {path[^1].EnumType.Name} (allowed: ", ex.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(path[^1].EnumType.Values[^1].Name, ex.Status.Detail, StringComparison.Ordinal);
    }

    private static IEnumerable<MethodDescriptor> Methods()
        => new[] { AgentServiceReflection.Descriptor, OperatorServiceReflection.Descriptor }
            .SelectMany(file => file.Services)
            .SelectMany(service => service.Methods);

    /// <summary>Field paths from <paramref name="type"/> to each enum field, each message type entered once per path.</summary>
    private static IEnumerable<IReadOnlyList<FieldDescriptor>> EnumPaths(MessageDescriptor type, List<FieldDescriptor> prefix, HashSet<string> entered)
    {
        foreach (var field in type.Fields.InFieldNumberOrder())
        {
            var target = field.IsMap ? field.MessageType.FindFieldByNumber(2) : field;
            if (target.FieldType == FieldType.Enum)
            {
                yield return [.. prefix, field];
            }
            else if (target.FieldType == FieldType.Message && entered.Add(target.MessageType.FullName))
            {
                foreach (var path in EnumPaths(target.MessageType, [.. prefix, field], entered))
                {
                    yield return path;
                }
                entered.Remove(target.MessageType.FullName);
            }
        }
    }

    /// <summary>The request as wire bytes: the enum field set to an undefined number, inside its parents (one element of a list, one map entry).</summary>
    private static byte[] Encode(IReadOnlyList<FieldDescriptor> path)
    {
        var inner = Varint(path[^1].IsMap ? 2 : path[^1].FieldNumber, Undefined);
        if (path[^1].IsMap)
        {
            inner = LengthDelimited(path[^1].FieldNumber, inner);
        }
        for (var i = path.Count - 2; i >= 0; i--)
        {
            inner = path[i].IsMap
                ? LengthDelimited(path[i].FieldNumber, LengthDelimited(2, inner))
                : LengthDelimited(path[i].FieldNumber, inner);
        }
        return inner;
    }

    private static string ExpectedPath(IReadOnlyList<FieldDescriptor> path)
        => string.Join('.', path.Select(f => f.IsMap ? $"{f.Name}[]" : f.IsRepeated ? $"{f.Name}[0]" : f.Name));

    private static byte[] Varint(int field, int value)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(field, WireFormat.WireType.Varint);
        output.WriteInt32(value);
        output.Flush();
        return buffer.ToArray();
    }

    private static byte[] LengthDelimited(int field, byte[] content)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        output.WriteTag(field, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(content));
        output.Flush();
        return buffer.ToArray();
    }

    private static async Task CallAsync(GrpcChannel channel, MethodDescriptor method, byte[] request)
    {
        var bytes = Marshallers.Create(b => b, b => b);
        var invoker = channel.CreateCallInvoker();
        if (method.IsServerStreaming)
        {
            using var call = invoker.AsyncServerStreamingCall(
                new Method<byte[], byte[]>(MethodType.ServerStreaming, method.Service.FullName, method.Name, bytes, bytes), null, new CallOptions(), request);
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
            return;
        }
        using var unary = invoker.AsyncUnaryCall(
            new Method<byte[], byte[]>(MethodType.Unary, method.Service.FullName, method.Name, bytes, bytes), null, new CallOptions(), request);
        await unary.ResponseAsync;
    }
}
