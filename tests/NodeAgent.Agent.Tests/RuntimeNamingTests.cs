using NodeAgent.Agent.Config;

namespace NodeAgent.Agent.Tests;

/// <summary>The one place runtime text becomes the contract's enum and back: every runtime round-trips, nothing else parses.</summary>
public sealed class RuntimeNamingTests
{
    [Fact]
    public void TryParse_EveryRuntimeName_RoundTripsThroughTheEnum()
    {
        var runtimes = Enum.GetValues<Contracts.V1.Runtime>().Where(r => r != Contracts.V1.Runtime.Unspecified).ToList();

        Assert.Equal(RuntimeNaming.Names, runtimes.Select(RuntimeNaming.NameOf));
        Assert.All(RuntimeNaming.Names, name => Assert.True(RuntimeNaming.TryParse(name, out var r) && RuntimeNaming.NameOf(r) == name, name));
    }

    [Theory]
    [InlineData("K3s")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("RUNTIME_K3S")]
    public void TryParse_OtherText_IsNoRuntime(string? text)
    {
        Assert.False(RuntimeNaming.TryParse(text, out var runtime));
        Assert.Equal(Contracts.V1.Runtime.Unspecified, runtime);
    }

    [Theory]
    [InlineData(Contracts.V1.Runtime.K3S, true, "k3s", "/var/lib/rancher/k3s", "/usr/local/bin/k3s-killall.sh", "/etc/rancher/k3s/config.yaml", "K3S")]
    [InlineData(Contracts.V1.Runtime.Rke2, true, "rke2-server", "/var/lib/rancher/rke2", "/usr/local/bin/rke2-killall.sh", "/etc/rancher/rke2/config.yaml", "RKE2")]
    [InlineData(Contracts.V1.Runtime.Rke2, false, "rke2-agent", "/var/lib/rancher/rke2", "/usr/local/bin/rke2-killall.sh", "/etc/rancher/rke2/config.yaml", "RKE2")]
    [InlineData(Contracts.V1.Runtime.K3S, false, "k3s-agent", "/var/lib/rancher/k3s", "/usr/local/bin/k3s-killall.sh", "/etc/rancher/k3s/config.yaml", "K3S")]
    public void Defaults_Distribution_AreItsInstallersPaths(Contracts.V1.Runtime runtime, bool server, string unit, string dataDir, string killall, string config, string prefix)
    {
        Assert.True(RuntimeNaming.IsDistribution(runtime));
        Assert.Equal((unit, dataDir, killall, config, prefix),
            (RuntimeNaming.ServiceUnit(runtime, server), RuntimeNaming.DefaultDataDir(runtime), RuntimeNaming.DefaultKillallScript(runtime), RuntimeNaming.DefaultConfigFile(runtime), RuntimeNaming.VariablePrefix(runtime)));
    }

    [Fact]
    public void IsDistribution_PlainEtcd_IsNot()
    {
        Assert.False(RuntimeNaming.IsDistribution(Contracts.V1.Runtime.Etcd));
    }
}
