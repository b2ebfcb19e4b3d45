using System.CommandLine;
using System.CommandLine.Help;
using NodeAgent.Ctl.Commands;
using NodeAgent.Testing;

namespace NodeAgent.Ctl.Tests;

/// <summary>
/// docs/operator.md against nodeagentctl's command tree: the connection flags, and every flag of
/// <c>cluster create</c>, <c>cluster set-snapshot-config</c> and <c>restore</c>, are named.
/// </summary>
public sealed class OperatorDocsTests
{
    private readonly OperatorDocs _docs = OperatorDocs.Load();

    [Theory]
    [InlineData("")]
    [InlineData("cluster create")]
    [InlineData("cluster set-snapshot-config")]
    [InlineData("restore")]
    [InlineData("node reset")]
    [InlineData("node rm")]
    public void OperatorDocs_CtlFlags_AreAllNamed(string path)
    {
        Command command = CtlCommandLine.Create();
        foreach (var name in path.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            command = command.Subcommands.Single(c => c.Name == name);
        }

        var missing = command.Options.Where(o => o is not (HelpOption or VersionOption)).Select(o => o.Name)
            .Where(name => !_docs.NamesCode(name)).ToList();

        Assert.True(missing.Count == 0, $"{OperatorDocs.Path} does not name these flags of 'nodeagentctl {path}': {string.Join(", ", missing)}");
    }
}
