using System.Text.RegularExpressions;
using NodeAgent.Agent.Runtime;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>Each member of <see cref="IRuntimeDriver"/> is something the agent asks of a driver: none is left that nothing calls.</summary>
public sealed class RuntimeDriverMembersTests
{
    [Fact]
    public void IRuntimeDriver_EveryMember_HasACallerThroughTheInterface()
    {
        // Who holds a driver: the parameter names of every constructor that takes one (e.g. "driver").
        var holders = typeof(IRuntimeDriver).Assembly.GetTypes()
            .SelectMany(t => t.GetConstructors())
            .SelectMany(c => c.GetParameters())
            .Where(p => p.ParameterType == typeof(IRuntimeDriver))
            .Select(p => p.Name!)
            .Distinct()
            .ToList();
        var root = Path.Combine(RepoPaths.Root, "agent", "NodeAgent.Agent");
        var sources = string.Join('\n', Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText));
        var members = typeof(IRuntimeDriver).GetMethods().Where(m => !m.IsSpecialName).Select(m => m.Name)
            .Concat(typeof(IRuntimeDriver).GetProperties().Select(p => p.Name))
            .ToList();

        var uncalled = members
            .Where(name => !Regex.IsMatch(sources, $@"\b({string.Join('|', holders)})\.{name}\b", RegexOptions.None, TimeSpan.FromSeconds(5)))
            .ToList();

        Assert.NotEmpty(holders);
        Assert.True(uncalled.Count == 0, $"IRuntimeDriver members nothing calls: {string.Join(", ", uncalled)}");
    }
}
