using NodeAgent.Ctl.Connection;
using NodeAgent.Testing;

namespace NodeAgent.Ctl.Tests;

/// <summary>
/// Where nodeagentctl finds the plan server: one URL or several replicas, from the flag,
/// NODEAGENT_SERVER or the config file, with the agent's rules (comma-separated or a YAML list, one scheme).
/// </summary>
public sealed class CtlSettingsTests : IDisposable
{
    private static readonly Uri A = new("https://a.example:9180");
    private static readonly Uri B = new("https://b.example:9180");
    private readonly TempDir _dir = new("nodeagent-ctl-settings-");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Resolve_OneServer_IsTheOnlyAddress()
        => Assert.Equal([A], Resolve(flag: "https://a.example:9180").Servers);

    [Theory]
    [InlineData("https://a.example:9180,https://b.example:9180")]
    [InlineData(" https://a.example:9180 , https://b.example:9180 ,")]
    public void Resolve_SeveralInTheFlag_KeepsThemInOrder(string flag)
        => Assert.Equal([A, B], Resolve(flag: flag).Servers);

    [Fact]
    public void Resolve_SeveralInTheEnvironment_KeepsThemInOrder()
        => Assert.Equal([B, A], Resolve(environment: "https://b.example:9180,https://a.example:9180").Servers);

    [Theory]
    [InlineData("server: [https://a.example:9180, https://b.example:9180]\n")]
    [InlineData("server:\n  - https://a.example:9180\n  - https://b.example:9180\n")]
    [InlineData("server: https://a.example:9180, https://b.example:9180\n")]
    public void Resolve_SeveralInTheConfigFile_ListOrCommaSeparated_KeepsThemInOrder(string yaml)
        => Assert.Equal([A, B], Resolve(file: yaml).Servers);

    [Fact]
    public void Resolve_FlagAndFile_TheFlagWinsWhole()
        => Assert.Equal([B], Resolve(flag: "https://b.example:9180", file: "server: [https://a.example:9180, https://c.example:9180]\n").Servers);

    [Theory]
    [InlineData("ps:9180", "server 'ps:9180' must be a URL such as https://127.0.0.1:9180")]
    [InlineData("https://a.example:9180,b.example:9180", "server 'b.example:9180' must be a URL such as https://127.0.0.1:9180")]
    [InlineData("https://a.example:9180,ftp://b.example", "server 'ftp://b.example' must be a URL such as https://127.0.0.1:9180")]
    [InlineData("http://127.0.0.1:9180,https://b.example:9180",
        "server 'https://b.example:9180' is https while 'http://127.0.0.1:9180' is http: every plan server address takes the same scheme")]
    [InlineData(" , ", "no plan server: pass --server, set NODEAGENT_SERVER, or put 'server:' in ")]
    public void Resolve_BadServerList_NamesTheBadEntry(string flag, string expected)
    {
        var ex = Assert.Throws<CtlException>(() => Resolve(flag: flag));

        Assert.StartsWith(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_ConfigListWithAMapping_SaysEachEntryMustBeAUrl()
    {
        var ex = Assert.Throws<CtlException>(() => Resolve(file: "server:\n  - https://a.example:9180\n  - host: b\n"));

        Assert.EndsWith("each entry of the 'server' list must be a URL", ex.Message, StringComparison.Ordinal);
    }

    private CtlSettings Resolve(string? flag = null, string? environment = null, string? file = null)
    {
        var path = _dir.Combine("config.yaml");
        if (file is not null)
        {
            File.WriteAllText(path, file + "token: na-admin-test\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        var env = new Dictionary<string, string> { ["NODEAGENT_TOKEN"] = "na-admin-test" };
        if (environment is not null)
        {
            env["NODEAGENT_SERVER"] = environment;
        }
        return CtlSettings.Resolve(flag, null, null, env, path);
    }
}
