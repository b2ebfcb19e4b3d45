using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests;

/// <summary>
/// The agent's namespaces (its feature folders) import one another without a cycle, so each can be
/// read and changed from the bottom up (Files and Config at the bottom, Hosting at the top).
/// </summary>
public sealed class NamespaceCyclesTests
{
    [Fact]
    public void AgentSources_Namespaces_HaveNoCycle()
    {
        var graph = NamespaceGraph.Read(Path.Combine(RepoPaths.Root, "agent", "NodeAgent.Agent"), "NodeAgent.Agent");

        Assert.Contains("NodeAgent.Agent.Config", graph.Edges["NodeAgent.Agent.Hosting"]);
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, string.Join('\n', cycles));
    }

    [Fact]
    public void FilesNamespace_Imports_NoFeature()
    {
        var graph = NamespaceGraph.Read(Path.Combine(RepoPaths.Root, "agent", "NodeAgent.Agent"), "NodeAgent.Agent");

        Assert.Empty(graph.Edges["NodeAgent.Agent.Files"]);
    }

    [Fact]
    public void NamespaceGraph_TwoNamespacesImportingEachOther_IsACycle()
    {
        var dir = Directory.CreateTempSubdirectory("namespace-graph-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "A.cs"), "using Root.B;\nnamespace Root.A;\ninternal sealed class X;\n");
            File.WriteAllText(Path.Combine(dir.FullName, "B.cs"), "namespace Root.B;\ninternal sealed class Y { A.X? x; }\n");
            File.WriteAllText(Path.Combine(dir.FullName, "C.cs"), "// using Root.A;\nnamespace Root.C;\ninternal sealed class Z { Root.B.Y? y; }\n");

            var cycles = NamespaceGraph.Read(dir.FullName, "Root").Cycles();

            var cycle = Assert.Single(cycles);
            Assert.StartsWith("cycle among Root.A, Root.B:", cycle, StringComparison.Ordinal);
            Assert.Contains("Root.A -> Root.B (", cycle, StringComparison.Ordinal);
            Assert.Contains("Root.B -> Root.A (", cycle, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
