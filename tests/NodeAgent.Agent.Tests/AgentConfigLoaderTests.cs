using NodeAgent.Agent.Config;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests;

public sealed class AgentConfigLoaderTests : IDisposable
{
    private static readonly Dictionary<string, string> None = new(StringComparer.Ordinal);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Load_FileOnly_FillsDefaultsAsK3sWould()
    {
        var options = AgentConfigLoader.Load(Write("server: https://ps.example:9180\ncluster: prod\ntoken: secret\nnode-name: node-1\n"), None, None);

        Assert.Equal([new Uri("https://ps.example:9180")], options.Servers);
        Assert.Equal(Contracts.V1.Runtime.K3S, options.Runtime);
        Assert.Equal("/var/lib/rancher/k3s", options.EffectiveDataDir);
        Assert.Equal(["https://127.0.0.1:2379"], options.EtcdEndpoints);
        Assert.Equal("/var/lib/rancher/k3s/server/tls/etcd/client.crt", options.EtcdCert);
        Assert.Equal(["etcd"], options.Roles);
        Assert.Equal(TimeSpan.FromSeconds(60), options.PollWait);
        Assert.Equal("secret", options.Token);
    }

    [Fact]
    public void Load_FlagsAndEnvironment_OverrideTheFileInThatOrder()
    {
        var path = Write("server: https://file:9180\ncluster: prod\nruntime: k3s\nnode-name: from-file\nroles: [etcd, control-plane]\n");

        var options = AgentConfigLoader.Load(path,
            new Dictionary<string, string> { ["node-name"] = "from-flag", ["poll-wait"] = "1m30s", ["etcd-snapshot-stall-timeout"] = "5s" },
            new Dictionary<string, string> { ["NODEAGENT_NODE_NAME"] = "from-env", ["NODEAGENT_RUNTIME"] = "rke2", ["NODEAGENT_TOKEN"] = "t" });

        Assert.Equal("from-flag", options.NodeName);
        Assert.Equal(Contracts.V1.Runtime.Rke2, options.Runtime);
        Assert.Equal("/var/lib/rancher/rke2/server/tls/etcd/server-ca.crt", options.EtcdCaCert);
        Assert.Equal(["etcd", "control-plane"], options.Roles);
        Assert.Equal(TimeSpan.FromSeconds(90), options.PollWait);
        Assert.Equal(TimeSpan.FromSeconds(5), options.EtcdConnection().SnapshotStallTimeout);
        Assert.Equal("t", options.Token);
    }

    [Fact]
    public void Load_FileReadableByOthers_RefusedWithChmodHint()
    {
        var path = Write("server: https://ps:9180\ncluster: prod\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var ex = Assert.Throws<ConfigException>(() => AgentConfigLoader.Load(path, None, None));

        Assert.Contains("chmod 0600", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>Several plan server addresses, as a YAML list or comma-separated (also from the flag or NODEAGENT_SERVER): tried in that order.</summary>
    [Theory]
    [InlineData("server: [https://a:9180, https://b:9180]\ncluster: prod\n")]
    [InlineData("server: https://a:9180, https://b:9180\ncluster: prod\n")]
    public void Load_SeveralServers_KeepsThemInOrder(string yaml)
    {
        var options = AgentConfigLoader.Load(Write(yaml), None, None);

        Assert.Equal([new Uri("https://a:9180"), new Uri("https://b:9180")], options.Servers);
    }

    [Theory]
    [InlineData("server: https://ps:9180\ncluster: prod\nnode_name: x\n", "unknown key 'node_name'")]
    [InlineData("cluster: prod\n", "server is required")]
    [InlineData("server: ps.example:9180\ncluster: prod\n", "must be an absolute https:// URL")]
    [InlineData("server: http://10.0.0.5:9180\ncluster: prod\n", "use https")]
    [InlineData("server: https://ps:9180\n", "cluster is required")]
    [InlineData("server: https://ps:9180\ncluster: prod\nruntime: docker\n", "runtime 'docker' is not one of k3s, rke2, etcd")]
    [InlineData("server: https://ps:9180\ncluster: prod\nroles: [etcd, master]\n", "'master' is not one of")]
    [InlineData("server: https://ps:9180\ncluster: prod\npoll-wait: soon\n", "poll-wait 'soon' is not a positive duration")]
    [InlineData("server: https://ps:9180\ncluster: prod\netcd-snapshot-stall-timeout: 0s\n", "etcd-snapshot-stall-timeout '0s' is not a positive duration")]
    [InlineData("server: https://ps:9180\ncluster: prod\nserver-ca: /nonexistent/ca.crt\n", "server-ca /nonexistent/ca.crt does not exist")]
    [InlineData("server: [https://ps:9180\n", "is not valid YAML")]
    [InlineData("server: [https://a:9180, ps-b:9180]\ncluster: prod\n", "server 'ps-b:9180' must be an absolute https:// URL")]
    [InlineData("server: http://127.0.0.1:9180,https://b:9180\ncluster: prod\n", "every plan server address takes the same scheme")]
    public void Load_InvalidConfig_SaysWhatToFix(string yaml, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => AgentConfigLoader.Load(Write(yaml), None, None));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ExplicitMissingFile_Refused()
    {
        var ex = Assert.Throws<ConfigException>(() => AgentConfigLoader.Load(_dir.Combine("missing.yaml"), None, None));

        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
    }

    private string Write(string yaml)
    {
        var path = _dir.Combine($"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(path, yaml);
        return path;
    }
}
