using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using NodeAgent.Contracts.V1;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Hosting;
using NodeAgent.Testing;

namespace NodeAgent.Server.Tests;

/// <summary>
/// docs/operator.md against the server's sources of truth: every plan-server flag has a row with
/// its default, and every field of the snapshot settings and of their S3 target has one, with the
/// defaults the server fills in.
/// </summary>
public sealed class OperatorDocsTests
{
    private readonly OperatorDocs _docs = OperatorDocs.Load();

    [Fact]
    public void OperatorDocs_PlanServerFlags_EachHasARowWithItsDefault()
    {
        var problems = new List<string>();
        foreach (var option in ServerCommandLine.Create().Options.Where(o => o is not (HelpOption or VersionOption)))
        {
            if (_docs.Row(option.Name) is not { } row)
            {
                problems.Add($"no row '| `{option.Name}` |'");
            }
            else if (option.HasDefaultValue)
            {
                var value = option.GetDefaultValue() as string ?? "";
                if (!row.Contains(value, StringComparison.Ordinal))
                {
                    problems.Add($"row of {option.Name} does not give its default '{value}': {row}");
                }
            }
        }
        Assert.True(problems.Count == 0, $"{OperatorDocs.Path}:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void OperatorDocs_SnapshotSettingsFields_EachHasARow()
    {
        var fields = SnapshotSettings.Descriptor.Fields.InDeclarationOrder().Select(f => f.Name)
            .Concat(Contracts.V1.S3Settings.Descriptor.Fields.InDeclarationOrder().Select(f => "s3." + f.Name));

        var missing = fields.Where(f => _docs.Row(f) is null).ToList();

        Assert.True(missing.Count == 0, $"{OperatorDocs.Path} has no row for: {string.Join(", ", missing)}");
    }

    [Fact]
    public void OperatorDocs_SnapshotSettingsDefaults_AreTheServersDefaults()
    {
        var defaults = SnapshotSettingsPolicy.Normalize(new SnapshotSettings());

        Assert.Contains(defaults.Cron, _docs.Row("cron"), StringComparison.Ordinal);
        Assert.Contains(defaults.Retention.ToString(CultureInfo.InvariantCulture), _docs.Row("retention"), StringComparison.Ordinal);
        Assert.Contains(defaults.Name, _docs.Row("name"), StringComparison.Ordinal);
        Assert.Contains(defaults.RecurringEnabled ? "true" : "false", _docs.Row("recurring_enabled"), StringComparison.Ordinal);
    }
}
