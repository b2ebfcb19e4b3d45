using Microsoft.Extensions.Logging;
using NodeAgent.Agent.Config;
using NodeAgent.Testing;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>The runtime driver's config keys: loaded, defaulted, and refused with a message that says what to fix.</summary>
public sealed class RuntimeConfigTests : IDisposable
{
    private const string Base = "server: https://ps:9180\ncluster: prod\nnode-name: n1\n";
    private const string EtcdRestore = "runtime: etcd\netcd-stop-command: systemctl stop etcd\netcd-start-command: systemctl start etcd\n"
        + "etcd-data-dir: /var/lib/etcd/default/\netcd-initial-cluster: n1=https://10.0.0.1:2380,n2=https://10.0.0.2:2380,n3=https://10.0.0.3:2380\n";
    private static readonly Dictionary<string, string> None = new(StringComparer.Ordinal);
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Load_EtcdKeys_AreReadAndDefaulted()
    {
        var options = Load(Base + EtcdRestore);

        Assert.Equal("systemctl stop etcd", options.EtcdStopCommand);
        Assert.Equal("systemctl start etcd", options.EtcdStartCommand);
        Assert.Equal("/var/lib/etcd/default", options.EtcdDataDir);
        Assert.Equal("n1", options.EffectiveEtcdName);
        Assert.Equal(["https://10.0.0.1:2380"], options.EtcdInitialAdvertisePeerUrls);
        Assert.Equal("/usr/bin/etcdctl", options.Etcdctl);
    }

    [Fact]
    public void Load_EtcdKeysFromFlagsAndEnvironment_OverrideAsTheOtherKeysDo()
    {
        var options = AgentConfigLoader.Load(Write(Base + EtcdRestore),
            new Dictionary<string, string> { ["etcd-name"] = "n2", ["etcdctl"] = "/opt/etcd/etcdctl" },
            new Dictionary<string, string> { ["NODEAGENT_ETCD_INITIAL_ADVERTISE_PEER_URLS"] = "https://10.0.0.2:2380" });

        Assert.Equal("n2", options.EffectiveEtcdName);
        Assert.Equal("/opt/etcd/etcdctl", options.Etcdctl);
        Assert.Equal(["https://10.0.0.2:2380"], options.EtcdInitialAdvertisePeerUrls);
    }

    [Fact]
    public void Load_EtcdRuntimeWithoutRestoreKeys_StillLoads()
    {
        var options = Load(Base + "runtime: etcd\n");

        Assert.Equal("", options.EtcdDataDir);
        Assert.Equal("", options.EtcdStopCommand);
    }

    [Fact]
    public void Load_DistributionKeys_AreReadAndDefaulted()
    {
        var defaults = Load(Base + "runtime: rke2\n");
        var given = Load(Base + "runtime: k3s\nkillall-script: /opt/k3s/killall.sh\nruntime-binary: /opt/k3s/k3s\n"
            + "service-stop-command: systemctl stop k3s-server\nservice-start-command: systemctl start k3s-server\n");

        Assert.Equal(("/usr/local/bin/rke2-killall.sh", "/usr/local/bin/rke2", "systemctl start rke2-server"),
            (defaults.EffectiveKillallScript, defaults.EffectiveRuntimeBinary, defaults.EffectiveServiceStartCommand));
        Assert.Equal(("/opt/k3s/killall.sh", "/opt/k3s/k3s", "systemctl start k3s-server"),
            (given.EffectiveKillallScript, given.EffectiveRuntimeBinary, given.EffectiveServiceStartCommand));
    }

    [Fact]
    public void Load_ServiceStopCommand_LoadsAndWarnsOnceThatItIsIgnored()
    {
        var options = Load(Base + "runtime: k3s\nservice-stop-command: systemctl stop k3s-server\n");
        var logger = new RecordingLogger<RuntimeConfigTests>();

        AgentConfigWarnings.Report(options, logger);

        var warning = Assert.Single(logger.Entries);
        Assert.Equal((LogLevel.Warning, $"Config key service-stop-command is ignored: {AgentConfigWarnings.ServiceStopCommandIgnored}"), warning);
        Assert.Contains("deprecated", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_NoServiceStopCommand_NoWarning()
    {
        var logger = new RecordingLogger<RuntimeConfigTests>();

        AgentConfigWarnings.Report(Load(Base + "runtime: k3s\n"), logger);

        Assert.Empty(logger.Entries);
    }

    [Theory]
    [InlineData("runtime: k3s\n", "k3s")]
    [InlineData("runtime: k3s\nroles: [control-plane]\n", "k3s")]
    [InlineData("runtime: k3s\nroles: [worker]\n", "k3s-agent")]
    [InlineData("runtime: rke2\nroles: [etcd, worker]\n", "rke2-server")]
    [InlineData("runtime: rke2\nroles: [worker]\n", "rke2-agent")]
    public void Load_ServiceUnit_FollowsTheNodesRoles(string yaml, string unit)
    {
        var options = Load(Base + yaml);

        Assert.Equal($"systemctl start {unit}", options.EffectiveServiceStartCommand);
    }

    [Fact]
    public void Load_EtcdRestoreKeysWithPeerUrlsOnly_NoInitialClusterNeeded()
    {
        var options = Load(Base + "runtime: etcd\netcd-stop-command: a\netcd-start-command: b\netcd-data-dir: /d\netcd-name: m1\netcd-initial-advertise-peer-urls: http://10.0.0.7:2380\n");

        Assert.Equal(("m1", ""), (options.EffectiveEtcdName, options.EtcdInitialCluster));
        Assert.Equal(["http://10.0.0.7:2380"], options.EtcdInitialAdvertisePeerUrls);
    }

    [Fact]
    public void Load_RuntimeVersionKeys_AreRead()
    {
        var options = Load(Base + "runtime: k3s\nruntime-versions-dir: /opt/k3s-versions\nruntime-install-command: /opt/bin/install-k3s\n"
            + "runtime-version-check-command: curl -fsI https://mirror.example/k3s/$INSTALL_K3S_VERSION/k3s\n");

        Assert.Equal(("/opt/k3s-versions", "/opt/bin/install-k3s", "curl -fsI https://mirror.example/k3s/$INSTALL_K3S_VERSION/k3s"),
            (options.RuntimeVersionsDir, options.RuntimeInstallCommand, options.RuntimeVersionCheckCommand));
    }

    [Theory]
    [InlineData("runtime: etcd\netcd-stop-command: /bin/stop-etcd\n",
        "runtime etcd: etcd-start-command, etcd-data-dir must be set along with etcd-stop-command")]
    [InlineData("runtime: etcd\netcd-stop-command: a\netcd-start-command: b\netcd-data-dir: /d\n",
        "runtime etcd: set etcd-initial-advertise-peer-urls (or etcd-initial-cluster): a restore makes the new cluster of the restoring members' peer URLs")]
    [InlineData("runtime: k3s\netcd-data-dir: /var/lib/etcd\n", "etcd-data-dir applies to runtime etcd only; this node's runtime is k3s")]
    [InlineData("runtime: etcd\nkillall-script: /usr/local/bin/k3s-killall.sh\n", "killall-script applies to runtime k3s or rke2 only; this node's runtime is etcd")]
    [InlineData("runtime: k3s\nruntime-binary: k3s\n", "runtime-binary 'k3s' must be an absolute path")]
    [InlineData("runtime: etcd\netcdctl: etcdctl\n", "etcdctl 'etcdctl' must be an absolute path")]
    [InlineData("runtime: k3s\nservice-stop-command: ' '\n", "service-stop-command must not be empty")]
    [InlineData(EtcdRestore + "etcd-name: n9\n", "etcd-name 'n9' is not a member of etcd-initial-cluster (members: n1, n2, n3)")]
    [InlineData("runtime: etcd\netcd-stop-command: a\netcd-start-command: b\netcd-data-dir: /d\netcd-initial-cluster: n1\n",
        "etcd-initial-cluster entry 'n1' is not name=peerURL")]
    [InlineData("runtime: etcd\netcd-stop-command: a\netcd-start-command: b\netcd-data-dir: /d\netcd-initial-cluster: n1=10.0.0.1:2380\n",
        "etcd-initial-cluster: '10.0.0.1:2380' is not a peer URL of the form http(s)://host:port")]
    [InlineData(EtcdRestore + "etcd-initial-advertise-peer-urls: https://10.0.0.9:2380\n",
        "etcd-initial-advertise-peer-urls (https://10.0.0.9:2380) differ from n1's URLs in etcd-initial-cluster (https://10.0.0.1:2380)")]
    [InlineData("runtime: etcd\netcd-stop-command: a\netcd-start-command: b\netcd-data-dir: /\netcd-initial-cluster: n1=http://h:2380\n",
        "etcd-data-dir must not be /")]
    [InlineData("runtime: etcd\netcd-name: a=b\n", "etcd-name 'a=b' must not contain '=' or ','")]
    [InlineData("runtime: etcd\nruntime-versions-dir: /opt/k3s-versions\n", "runtime-versions-dir applies to runtime k3s or rke2 only; this node's runtime is etcd")]
    [InlineData("runtime: k3s\nruntime-versions-dir: versions\n", "runtime-versions-dir 'versions' must be an absolute path")]
    [InlineData("runtime: k3s\nruntime-install-command: ' '\n", "runtime-install-command must not be empty")]
    [InlineData("runtime: rke2\nruntime-version-check-command: ''\n", "runtime-version-check-command must not be empty")]
    public void Load_BadRuntimeKeys_SayWhatToFix(string yaml, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => Load(Base + yaml));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    private AgentOptions Load(string yaml) => AgentConfigLoader.Load(Write(yaml), None, None);

    private string Write(string yaml)
    {
        var path = _dir.Combine($"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }
}
