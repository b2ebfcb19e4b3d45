using System.CommandLine;
using System.CommandLine.Help;
using System.Text.RegularExpressions;
using NodeAgent.Agent.Cli;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.S3;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests;

/// <summary>
/// docs/operator.md against the agent's own sources of truth: every config key of
/// <c>node-agent run</c> (<see cref="AgentConfigKeys"/>) has a row with the default its help states,
/// and every flag of <c>node-agent etcd-snapshot</c> is named.
/// </summary>
public sealed partial class OperatorDocsTests
{
    private readonly OperatorDocs _docs = OperatorDocs.Load();

    [Fact]
    public void OperatorDocs_AgentConfigKeys_EachHasARowWithItsDefault()
    {
        var problems = new List<string>();
        foreach (var (key, help, _, _) in AgentConfigKeys.All)
        {
            if (_docs.Row(key) is not { } row)
            {
                problems.Add($"no row '| `{key}` |'");
                continue;
            }
            if (StatedDefault().Match(help) is { Success: true } match && !row.Contains(match.Groups[1].Value, StringComparison.Ordinal))
            {
                problems.Add($"row of {key} does not give its default '{match.Groups[1].Value}': {row}");
            }
        }
        Assert.True(problems.Count == 0, $"{OperatorDocs.Path}:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void OperatorDocs_ServiceStopCommand_QuotesTheWarningTheAgentLogs()
        => Assert.Contains($"ignored: {AgentConfigWarnings.ServiceStopCommandIgnored}", _docs.Row("service-stop-command"), StringComparison.Ordinal);

    [Fact]
    public void OperatorDocs_EtcdSnapshotFlags_AreAllNamed()
    {
        var missing = Options(EtcdSnapshotCommand.Create())
            .Where(o => o is not HelpOption)
            .Select(o => o.Name)
            .Distinct(StringComparer.Ordinal)
            .Where(name => !_docs.NamesCode(name))
            .ToList();

        Assert.True(missing.Count == 0, $"{OperatorDocs.Path} does not name: {string.Join(", ", missing)}");
    }

    [Fact]
    public void OperatorDocs_S3Defaults_AreTheAgentsDefaults()
    {
        Assert.Contains(S3Settings.DefaultEndpoint, _docs.Row("s3.endpoint"), StringComparison.Ordinal);
        Assert.Contains(S3Settings.DefaultRegion, _docs.Row("s3.region"), StringComparison.Ordinal);
        Assert.Contains(S3Settings.DefaultEndpoint, _docs.Row("--s3-endpoint"), StringComparison.Ordinal);
        Assert.Contains(S3Settings.DefaultRegion, _docs.Row("--s3-region"), StringComparison.Ordinal);
    }

    private static IEnumerable<Option> Options(Command command)
        => command.Options.Concat(command.Subcommands.SelectMany(Options));

    /// <summary>"Default: X." at the end of a key's help text.</summary>
    [GeneratedRegex(@"Default: (.+)\.$")]
    private static partial Regex StatedDefault();
}
