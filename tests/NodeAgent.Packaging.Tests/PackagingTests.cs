using System.Text.RegularExpressions;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Packaging.Tests;

/// <summary>One build of the packages for every test here (the assembly's only collection).</summary>
[CollectionDefinition("packaging")]
public sealed class PackagingDefinition : ICollectionFixture<BuiltPackages>;

/// <summary>
/// What packaging/build.sh makes, checked with the real tools: dpkg-deb (contents, modes, control
/// data), lintian, the unpacked programs themselves (plan-server serving, nodeagentctl using it) and
/// the tarball's install.sh into a temporary root.
/// </summary>
[Collection("packaging")]
public sealed partial class PackagingTests(BuiltPackages packages) : IDisposable
{
    private static readonly string[] Packages = ["node-agent", "plan-server", "nodeagentctl"];
    private readonly TempDir _root = new("nodeagent-pkg-");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task NodeAgentDeb_Contents_AotBinaryUnitAndAConfigOnlyRootReads()
    {
        var entries = await ContentsAsync("node-agent");

        AssertEntry(entries, "usr/bin/node-agent", "-rwxr-xr-x");
        AssertEntry(entries, "lib/systemd/system/node-agent.service", "-rw-r--r--");
        AssertEntry(entries, "etc/node-agent/", "drwx------");
        AssertEntry(entries, "etc/node-agent/config.yaml", "-rw-------");
        AssertCommon(entries, "node-agent");
    }

    [Fact]
    public async Task PlanServerDeb_Contents_SingleFileBesideItsSqliteLibrary_LinkedFromUsrBin()
    {
        var entries = await ContentsAsync("plan-server");

        AssertEntry(entries, "usr/lib/plan-server/plan-server", "-rwxr-xr-x");
        AssertEntry(entries, "usr/lib/plan-server/libe_sqlite3.so", "-rw-r--r--");
        Assert.Equal("../lib/plan-server/plan-server", entries["usr/bin/plan-server"].Target);
        AssertEntry(entries, "lib/systemd/system/plan-server.service", "-rw-r--r--");
        AssertCommon(entries, "plan-server");
    }

    [Fact]
    public async Task NodeagentctlDeb_Contents_SingleFile()
    {
        var entries = await ContentsAsync("nodeagentctl");

        AssertEntry(entries, "usr/bin/nodeagentctl", "-rwxr-xr-x");
        Assert.DoesNotContain(entries.Keys, path => path.StartsWith("lib/systemd", StringComparison.Ordinal));
        AssertCommon(entries, "nodeagentctl");
    }

    [Fact]
    public async Task Debs_Control_TheVersionTheProgramsPrint_AndDependsOnWhatTheyLoad()
    {
        foreach (var package in Packages)
        {
            var control = await ControlAsync(package);

            Assert.Equal(package, control["Package"]);
            Assert.Equal(packages.DebVersion, control["Version"]);
            Assert.Equal(packages.Architecture, control["Architecture"]);
            Assert.Equal("admin", control["Section"]);
            Assert.NotEmpty(control["Maintainer"]);
            Assert.NotEmpty(control["Description"]);
            // dpkg-shlibdeps' libc6 first; libssl is opened with dlopen, so no ELF header names it.
            Assert.Matches(@"^libc6 \(>= [0-9.]+\)", control["Depends"]);
            Assert.EndsWith(", libssl3 | libssl3t64", control["Depends"], StringComparison.Ordinal);
        }
        // The AOT binary links libc alone; the single files' host also links libstdc++.
        Assert.DoesNotContain("libstdc++", (await ControlAsync("node-agent"))["Depends"], StringComparison.Ordinal);
        Assert.Equal("nodeagentctl", (await ControlAsync("plan-server"))["Recommends"]);
    }

    [Fact]
    public async Task NodeAgentDeb_MaintainerScripts_ConffileDeclared_AgentNeverStartedOnInstall()
    {
        var control = _root.Combine("DEBIAN");
        await RunAsync("/usr/bin/dpkg-deb", "--control", packages.Deb("node-agent"), control);

        Assert.Equal("/etc/node-agent/config.yaml", File.ReadAllText(Path.Combine(control, "conffiles")).Trim());
        foreach (var script in new[] { "postinst", "prerm", "postrm" })
        {
            Assert.Equal(Mode("-rwxr-xr-x"), File.GetUnixFileMode(Path.Combine(control, script)));
            await RunAsync("/bin/sh", "-n", Path.Combine(control, script));
        }
        var postinst = Code(File.ReadAllText(Path.Combine(control, "postinst")));
        Assert.Contains("deb-systemd-helper update-state node-agent.service", postinst, StringComparison.Ordinal);
        // An upgrade restarts a running agent (try-restart); nothing starts or enables a new one.
        Assert.Contains("deb-systemd-invoke try-restart node-agent.service", postinst, StringComparison.Ordinal);
        Assert.DoesNotContain("deb-systemd-invoke start", postinst, StringComparison.Ordinal);
        Assert.DoesNotContain("deb-systemd-invoke restart", postinst, StringComparison.Ordinal);
        Assert.DoesNotContain("systemctl start", postinst, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MaintainerScripts_IntoADpkgRoot_EnablePlanServerOnly_AndPurgeForgetsBoth()
    {
        // deb-systemd-helper works under DPKG_ROOT (a chroot-less install); the scripts leave
        // systemctl alone there, so this never touches the host's systemd.
        var root = _root.Combine("root");
        Directory.CreateDirectory(_root.Combine("control"));
        foreach (var package in new[] { "node-agent", "plan-server" })
        {
            await RunAsync("/usr/bin/dpkg-deb", "-x", packages.Deb(package), root);
            await RunAsync("/usr/bin/dpkg-deb", "--control", packages.Deb(package), _root.Combine("control", package));
        }
        var wants = Path.Combine(root, "etc", "systemd", "system", "multi-user.target.wants");

        await ScriptAsync("node-agent", "postinst", "configure");
        await ScriptAsync("plan-server", "postinst", "configure");
        Assert.Equal("/lib/systemd/system/plan-server.service", new FileInfo(Path.Combine(wants, "plan-server.service")).LinkTarget);
        Assert.False(File.Exists(Path.Combine(wants, "node-agent.service")));

        // An upgrade does not enable the agent either (only keeps an admin's enable).
        await ScriptAsync("node-agent", "postinst", "configure", "0.0.1");
        Assert.False(File.Exists(Path.Combine(wants, "node-agent.service")));

        Directory.CreateDirectory(Path.Combine(root, "var", "lib", "node-agent"));
        foreach (var package in new[] { "node-agent", "plan-server" })
        {
            await ScriptAsync(package, "prerm", "remove");
            await ScriptAsync(package, "postrm", "remove");
            await ScriptAsync(package, "postrm", "purge");
        }
        Assert.False(File.Exists(Path.Combine(wants, "plan-server.service")));
        Assert.False(Directory.Exists(Path.Combine(root, "var", "lib", "node-agent")));
        Assert.False(Directory.Exists(Path.Combine(root, "var", "lib", "systemd", "deb-systemd-helper-enabled", "multi-user.target.wants")));

        async Task ScriptAsync(string package, string script, params string[] arguments)
            => (await CommandRunner.RunAsync("/bin/sh", [_root.Combine("control", package, script), .. arguments],
                    new Dictionary<string, string?> { ["DPKG_ROOT"] = root, ["DPKG_MAINTSCRIPT_PACKAGE"] = package },
                    timeout: TestTimeouts.Slow)
                .WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
    }

    /// <summary>lintian is Perl that reads every file of the three debs: 32 s of CPU on a quiet machine, over 3 minutes under stress-ng beside the other assemblies.</summary>
    private static readonly TimeSpan LintianTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Lintian_EveryDeb_NoErrors()
    {
        var result = await CommandRunner.RunAsync("/usr/bin/lintian", Packages.Select(packages.Deb), timeout: LintianTimeout)
            .WithTimeout(LintianTimeout + TimeSpan.FromMinutes(1));

        var errors = result.StandardOutput.Split('\n').Where(l => l.StartsWith("E:", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0 && result.ExitCode == 0,
            $"lintian: exit {result.ExitCode}\n{result.StandardOutput}\n{result.StandardError}");
    }

    [Fact]
    public async Task UnpackedDebs_EveryProgram_PrintsThePackageVersion()
    {
        await UnpackAsync(Packages);

        foreach (var program in Packages)
        {
            var printed = await RunAsync(_root.Combine("usr", "bin", program), "--version");

            Assert.Equal(packages.Version, printed.Trim().Split('+')[0]);
        }
    }

    [Fact]
    public async Task UnpackedPlanServer_Serves_UnpackedNodeagentctlCreatesAndListsAClusterOnIt()
    {
        await UnpackAsync("plan-server", "nodeagentctl");
        await using var server = await PlanServerProcess.StartAsync(executable: _root.Combine("usr", "bin", "plan-server"))
            .WithTimeout(TestTimeouts.Slow);
        var environment = new Dictionary<string, string?>
        {
            ["NODEAGENT_SERVER"] = server.Address.ToString(),
            ["NODEAGENT_TOKEN"] = server.AdminToken,
            ["NODEAGENT_CA_FILE"] = server.CaFile,
            ["HOME"] = _root.Path,
        };
        var ctl = _root.Combine("usr", "bin", "nodeagentctl");

        (await CommandRunner.RunAsync(ctl, ["cluster", "create", "packaged", "--runtime", "k3s"], environment, timeout: TestTimeouts.Slow)
            .WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
        var listed = (await CommandRunner.RunAsync(ctl, ["cluster", "ls", "-o", "json"], environment, timeout: TestTimeouts.Slow)
            .WithTimeout(TestTimeouts.Slow)).EnsureSuccess();

        Assert.Contains("\"packaged\"", listed.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DefaultConfig_EveryRunKeyAndTheToken_CommentedOut()
    {
        await UnpackAsync("node-agent");
        var help = await RunAsync(_root.Combine("usr", "bin", "node-agent"), "run", "--help");
        var keys = RunFlag().Matches(help).Select(m => m.Groups[1].Value).Where(k => k != "config").Append("token").ToList();
        var lines = File.ReadAllLines(_root.Combine("etc", "node-agent", "config.yaml"));

        Assert.True(keys.Count > 20, help);
        Assert.All(keys, key => Assert.Contains(lines, line => line.StartsWith($"#{key}:", StringComparison.Ordinal)));
        Assert.All(lines, line => Assert.True(line.Length == 0 || line.StartsWith('#'), line));
        Assert.Contains("#runtime: k3s", lines);
    }

    [Fact]
    public async Task TarballInstall_IntoARoot_InstallsEverything_AndARerunKeepsAChangedConfig()
    {
        Directory.CreateDirectory(_root.Combine("tar"));
        await RunAsync("/bin/tar", "-xzf", packages.Tarball, "-C", _root.Combine("tar"));
        var install = _root.Combine("tar", $"nodeagent-{packages.Version}-linux-{packages.Architecture}", "install.sh");
        var target = _root.Combine("target");

        await RunAsync(install, "--root", target);

        string At(string path) => Path.Combine(target, path);
        Assert.Equal(Mode("-rwxr-xr-x"), File.GetUnixFileMode(At("usr/local/bin/node-agent")));
        Assert.Equal(Mode("-rwxr-xr-x"), File.GetUnixFileMode(At("usr/local/bin/nodeagentctl")));
        Assert.Equal(Mode("-rwxr-xr-x"), File.GetUnixFileMode(At("usr/local/lib/plan-server/plan-server")));
        Assert.Equal(Mode("-rw-r--r--"), File.GetUnixFileMode(At("usr/local/lib/plan-server/libe_sqlite3.so")));
        Assert.Equal("../lib/plan-server/plan-server", new FileInfo(At("usr/local/bin/plan-server")).LinkTarget);
        Assert.Equal(Mode("drwx------"), File.GetUnixFileMode(At("etc/node-agent")));
        Assert.Equal(Mode("-rw-------"), File.GetUnixFileMode(At("etc/node-agent/config.yaml")));
        Assert.Contains("ExecStart=/usr/local/bin/node-agent run --config /etc/node-agent/config.yaml",
            File.ReadAllLines(At("etc/systemd/system/node-agent.service")));
        Assert.Contains("Documentation=file:///usr/local/share/doc/plan-server/README.md",
            File.ReadAllLines(At("etc/systemd/system/plan-server.service")));
        Assert.True(File.Exists(At("usr/local/share/man/man1/nodeagentctl.1.gz")));
        Assert.True(File.Exists(At("usr/local/share/doc/node-agent/docs/operator.md")), "the README's link to docs/operator.md must resolve where it is installed");
        foreach (var program in Packages)
        {
            Assert.Equal(packages.Version, (await RunAsync(At($"usr/local/bin/{program}"), "--version")).Trim().Split('+')[0]);
        }

        File.AppendAllText(At("etc/node-agent/config.yaml"), "server: https://plan-server.example:9180\n");
        var rerun = await RunAsync(install, "--root", target, "node-agent");

        Assert.Contains("kept", rerun, StringComparison.Ordinal);
        Assert.EndsWith("server: https://plan-server.example:9180\n", File.ReadAllText(At("etc/node-agent/config.yaml")), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(target, "*.install-new", SearchOption.AllDirectories));
    }

    private sealed record Entry(string Mode, string Owner, string? Target);

    private async Task<Dictionary<string, Entry>> ContentsAsync(string package)
    {
        // "-rwxr-xr-x root/root 19782472 2026-11-26 01:28 ./usr/bin/node-agent" [-> target]
        var listing = await RunAsync("/usr/bin/dpkg-deb", "--contents", packages.Deb(package));
        return listing.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToDictionary(f => f[5][2..], f => new Entry(f[0], f[1], f.Length > 7 ? f[7] : null), StringComparer.Ordinal);
    }

    private async Task<Dictionary<string, string>> ControlAsync(string package)
        => (await RunAsync("/usr/bin/dpkg-deb", "--field", packages.Deb(package)))
            .Split('\n')
            .Where(line => line.Length > 0 && !line.StartsWith(' '))
            .Select(line => line.Split(':', 2))
            .ToDictionary(f => f[0], f => f[1].Trim(), StringComparer.Ordinal);

    private async Task UnpackAsync(params string[] packagesToUnpack)
    {
        foreach (var package in packagesToUnpack)
        {
            await RunAsync("/usr/bin/dpkg-deb", "-x", packages.Deb(package), _root.Path);
        }
    }

    private static void AssertEntry(Dictionary<string, Entry> entries, string path, string mode)
    {
        Assert.True(entries.TryGetValue(path, out var entry), $"{path} is not in the package: {string.Join(", ", entries.Keys)}");
        Assert.Equal(mode, entry.Mode);
    }

    /// <summary>Docs, man page, root ownership: what every package has.</summary>
    private static void AssertCommon(Dictionary<string, Entry> entries, string package)
    {
        foreach (var doc in new[] { "copyright", "changelog.gz", "README.md", "docs/operator.md" })
        {
            AssertEntry(entries, $"usr/share/doc/{package}/{doc}", "-rw-r--r--");
        }
        AssertEntry(entries, $"usr/share/man/man1/{package}.1.gz", "-rw-r--r--");
        Assert.All(entries.Values, e => Assert.Equal("root/root", e.Owner));
    }

    private static UnixFileMode Mode(string text)
        => (UnixFileMode)text[1..].Select((c, i) => c == '-' ? 0 : 1 << (8 - i)).Sum();

    /// <summary>A shell script without its comments.</summary>
    private static string Code(string script)
        => string.Join('\n', script.Split('\n').Where(l => !l.TrimStart().StartsWith('#')));

    private static async Task<string> RunAsync(string fileName, params string[] arguments)
        => (await CommandRunner.RunAsync(fileName, arguments, timeout: TestTimeouts.Slow).WithTimeout(TestTimeouts.Slow))
            .EnsureSuccess().StandardOutput;

    [GeneratedRegex(@"^\s+--([a-z0-9-]+) <", RegexOptions.Multiline)]
    private static partial Regex RunFlag();
}
