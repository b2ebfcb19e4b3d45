using NodeAgent.Testing;

namespace NodeAgent.Server.Tests;

/// <summary>The server's namespaces (its feature folders) import one another without a cycle.</summary>
public sealed class NamespaceCyclesTests
{
    [Fact]
    public void ServerSources_Namespaces_HaveNoCycle()
    {
        var graph = NamespaceGraph.Read(Path.Combine(RepoPaths.Root, "server", "NodeAgent.Server"), "NodeAgent.Server");

        Assert.Contains("NodeAgent.Server.Operations", graph.Edges.Keys);
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, string.Join('\n', cycles));
    }
}
