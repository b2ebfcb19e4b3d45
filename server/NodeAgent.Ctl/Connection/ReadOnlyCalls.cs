using System.Collections.Frozen;
using Google.Protobuf.Reflection;
using Grpc.Core;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Ctl.Connection;

/// <summary>
/// The operator API calls that change nothing on the server: sending one again to another replica
/// cannot do anything twice. Every call not named here is taken as a change, including any added to
/// the contract later, so a new call is never repeated by mistake.
/// </summary>
internal static class ReadOnlyCalls
{
    private static readonly FrozenSet<string> Names = new[]
    {
        Name(ClusterService.Descriptor, "GetCluster"),
        Name(ClusterService.Descriptor, "ListClusters"),
        Name(ClusterService.Descriptor, "ListNodes"),
        Name(SnapshotService.Descriptor, "ListSnapshots"),
        Name(OperationService.Descriptor, "GetOperation"),
        Name(OperationService.Descriptor, "ListOperations"),
        Name(OperationService.Descriptor, "WatchOperation"),
    }.ToFrozenSet(StringComparer.Ordinal);

    public static bool Contains(IMethod method) => Names.Contains(method.FullName);

    /// <summary>The name gRPC gives the call (<c>/package.Service/Method</c>); a method the contract lacks is a bug here.</summary>
    private static string Name(ServiceDescriptor service, string method)
        => service.FindMethodByName(method) is { } found
            ? $"/{service.FullName}/{found.Name}"
            : throw new InvalidOperationException($"{service.FullName} has no method {method}");
}
