using System.Text.Json;
using NodeAgent.Testing;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Agent.Tests.Snapshots;

/// <summary>The real <c>node-agent etcd-snapshot</c> process: K3s's flags, output formats and exit codes.</summary>
public sealed class EtcdSnapshotCliTests : IDisposable
{
    private readonly TempDir _root = new();

    public void Dispose() => _root.Dispose();

    private string Dir => _root.Combine("snapshots");

    [Fact]
    public async Task SaveLsDeletePrune_AgainstRealEtcd_WithK3sFlagNames()
    {
        await using var etcd = await EtcdServer.StartAsync();

        var saved = await RunAsync("save", "--endpoints", etcd.ClientUrl, "--etcd-snapshot-dir", Dir, "--node-name", "n1", "--etcd-snapshot-compress");
        var zipped = await RunAsync("save", "--endpoints", etcd.ClientUrl, "--dir", Dir, "--node-name", "n1", "--name", "manual");
        var listed = await RunAsync("ls", "--dir", Dir, "-o", "json");
        var table = await RunAsync("list", "--dir", Dir);

        Assert.Equal(0, saved.ExitCode);
        Assert.Matches(@"^Snapshot on-demand-n1-\d+\.zip saved: ", saved.StandardOutput);
        Assert.Equal(0, zipped.ExitCode);
        using var json = JsonDocument.Parse(listed.EnsureSuccess().StandardOutput);
        var names = json.RootElement.EnumerateArray().Select(e => e.GetProperty("name").GetString()!).ToList();
        Assert.Equal(2, names.Count);
        Assert.Contains(names, n => n.StartsWith("manual-n1-", StringComparison.Ordinal));
        Assert.All(json.RootElement.EnumerateArray(), e => Assert.StartsWith("file://" + Dir + "/", e.GetProperty("location").GetString(), StringComparison.Ordinal));
        Assert.StartsWith("Name ", table.EnsureSuccess().StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Location", table.StandardOutput.Split('\n')[0], StringComparison.Ordinal);

        var manual = names.Single(n => n.StartsWith("manual-", StringComparison.Ordinal));
        Assert.Equal($"Snapshot {manual} deleted", (await RunAsync("delete", "--dir", Dir, manual)).EnsureSuccess().StandardOutput.Trim());
        var onDemand = names.Single(n => n.StartsWith("on-demand-", StringComparison.Ordinal));
        File.Copy(Path.Combine(Dir, onDemand), Path.Combine(Dir, "on-demand-n1-1600000000.zip"));
        Assert.Equal("Snapshot on-demand-n1-1600000000.zip deleted",
            (await RunAsync("prune", "--dir", Dir, "--etcd-snapshot-retention", "1")).EnsureSuccess().StandardOutput.Trim());
        Assert.Equal([onDemand], Directory.GetFiles(Dir).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')));
    }

    [Theory]
    [InlineData(2, "must be a bare file name", "delete", "../etc/passwd")]
    [InlineData(2, "must be a bare file name", "delete", "/var/lib/x")]
    [InlineData(2, "no snapshot named on-demand-n1-1 in", "delete", "on-demand-n1-1")]
    [InlineData(2, "snapshot name \"a/b\" must be a bare name", "save", "--name", "a/b")]
    [InlineData(2, "snapshot name must not be empty", "save", "--name", "")]
    [InlineData(2, "is not an http:// or https:// URL", "save", "--endpoints", "ftp://x")]
    [InlineData(1, "etcd is not reachable (http://127.0.0.1:1:", "save", "--endpoints", "http://127.0.0.1:1")]
    public async Task BadRequests_OneClearLineAndTheRightExitCode(int exitCode, string message, params string[] args)
    {
        Directory.CreateDirectory(Dir);

        var result = await RunAsync([.. args, "--dir", Dir, "--node-name", "n1"]);

        Assert.Equal(exitCode, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("node-agent: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.Empty(VisibleFiles(Dir));
    }

    [Fact]
    public async Task Save_NameTooLongForAFileName_ExitsTwoWithTheLimit()
    {
        var result = await RunAsync("save", "--name", new string('a', 240), "--dir", Dir, "--node-name", "n1", "--endpoints", "http://127.0.0.1:1");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("node-agent: snapshot name and node name are 242 bytes together; at most 234 fit, since a file name"
            + " (<name>-<node>-<unix seconds>.zip.part) is at most 255 bytes", result.StandardError.Trim());
        Assert.False(Directory.Exists(Dir));
    }

    [Fact]
    public async Task Save_DirIsAFile_ExitsTwoSayingItIsNotADirectory()
    {
        var file = _root.Combine("a-file");
        await File.WriteAllTextAsync(file, "kept\n");

        var result = await RunAsync("save", "--dir", file, "--node-name", "n1", "--endpoints", "http://127.0.0.1:1");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"node-agent: snapshot dir {file} is not a directory", result.StandardError.Trim());
        Assert.Equal("kept\n", await File.ReadAllTextAsync(file));
    }

    /// <summary>
    /// A snapshot dir on a read-only mount (a tmpfs remounted ro in a mount namespace of the
    /// command's own, so nothing outlives it): the real reason, not "already in progress".
    /// </summary>
    [Fact]
    public async Task Save_ReadOnlyDir_SaysReadOnlyNotInProgress()
    {
        var mount = _root.Combine("ro");
        Directory.CreateDirectory(mount);
        var dir = Path.Combine(mount, "snapshots");
        var script = "mount -t tmpfs tmpfs \"$1\" && mkdir \"$1/snapshots\" && mount -o remount,ro \"$1\" && shift && exec \"$@\"";

        var result = await CommandRunner.RunAsync("/usr/bin/unshare",
            ["--mount", "--map-root-user", "/bin/sh", "-c", script, "sh", mount, RepoPaths.Executable("node-agent"),
                "etcd-snapshot", "save", "--dir", dir, "--node-name", "n1", "--endpoints", "http://127.0.0.1:1"], timeout: TestTimeouts.Slow);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"node-agent: snapshot dir {dir} is read-only", result.StandardError.Trim());
    }

    /// <summary>
    /// A snapshot dir on a 1 MiB file system (a tmpfs in a mount namespace of the command's own) and
    /// a 4 MB etcd: the disk fills mid-stream. The message names the snapshot and the dir, not only
    /// the errno; nothing of the snapshot stays and the dir's other files are untouched.
    /// </summary>
    [Fact]
    public async Task Save_DiskFullMidStream_NamesSnapshotAndDirKeepsNothingTouchesNothingElse()
    {
        await using var etcd = await EtcdServer.StartAsync();
        await EtcdData.LoadAsync(etcd.ClientUrl, 4).WithTimeout(TestTimeouts.Slow);
        var mount = _root.Combine("small");
        Directory.CreateDirectory(mount);
        var dir = Path.Combine(mount, "snapshots");
        var script = "m=\"$1\"; mount -t tmpfs -o size=1m tmpfs \"$m\" && mkdir \"$m/snapshots\" && echo keep > \"$m/snapshots/other\" "
            + "&& echo keep > \"$m/snapshots/on-demand-n1-1700000000\" && shift && \"$@\"; rc=$?; find \"$m\" -type f | LC_ALL=C sort; exit $rc";

        var result = await CommandRunner.RunAsync("/usr/bin/unshare",
            ["--mount", "--map-root-user", "/bin/sh", "-c", script, "sh", mount, RepoPaths.Executable("node-agent"),
                "etcd-snapshot", "save", "--dir", dir, "--node-name", "n1", "--endpoints", etcd.ClientUrl], timeout: TestTimeouts.Slow);

        Assert.Equal(1, result.ExitCode);
        Assert.Matches($@"^node-agent: snapshot on-demand-n1-\d+ could not be written to {System.Text.RegularExpressions.Regex.Escape(dir)}: No space left on device; nothing of it was kept$",
            result.StandardError.Trim());
        Assert.Equal(
            [Path.Combine(mount, ".nodeagent", "save.lock"), Path.Combine(dir, "on-demand-n1-1700000000"), Path.Combine(dir, "other")],
            result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>etcd as K3s runs it (TLS, client certificates), found through K3s's file layout alone.</summary>
    [Fact]
    public async Task Save_FromTlsEtcd_UsesTheK3sCertificateLayout()
    {
        using var ca = new NodeAgent.Testing.S3.TestCertificateAuthority();
        await using var etcd = await EtcdServer.StartTlsAsync(ca);
        var dataDir = _root.Combine("k3s");
        var tls = Path.Combine(dataDir, "server", "tls", "etcd");
        Directory.CreateDirectory(tls);
        File.Copy(ca.CaCertificatePath, Path.Combine(tls, "server-ca.crt"));
        File.Copy(ca.ClientCertificatePath, Path.Combine(tls, "client.crt"));
        var withoutKey = await CommandRunner.RunAsync(RepoPaths.Executable("node-agent"),
            ["etcd-snapshot", "save", "--data-dir", dataDir, "--endpoints", etcd.ClientUrl, "--node-name", "n1"], timeout: TestTimeouts.Slow);
        File.Copy(ca.ClientKeyPath, Path.Combine(tls, "client.key"));

        var saved = await CommandRunner.RunAsync(RepoPaths.Executable("node-agent"),
            ["etcd-snapshot", "save", "--data-dir", dataDir, "--endpoints", etcd.ClientUrl, "--node-name", "n1"], timeout: TestTimeouts.Slow);

        Assert.Equal(2, withoutKey.ExitCode);
        Assert.Contains($"etcd client certificate file {Path.Combine(tls, "client.key")} does not exist", withoutKey.StandardError, StringComparison.Ordinal);
        saved.EnsureSuccess();
        var snapshot = Assert.Single(Directory.GetFiles(Path.Combine(dataDir, "server", "db", "snapshots")), f => !Path.GetFileName(f).StartsWith('.'));
        (await NodeAgent.Testing.Tools.Etcdctl.SnapshotRestoreAsync(snapshot, _root.Combine("restored"))).EnsureSuccess();
    }

    /// <summary>
    /// A snapshot dir with no <c>../.metadata/</c> (files etcdctl or K3s wrote, or an operator removed
    /// it): no metadata to prune, not an error. ls, delete and prune work on the files alone.
    /// </summary>
    [Fact]
    public async Task PruneDeleteLs_NoMetadataDir_WorkOnTheFilesAlone()
    {
        Directory.CreateDirectory(Dir);
        foreach (var name in new[] { "on-demand-n1-1600000000", "on-demand-n1-1600000100", "on-demand-n1-1600000200", "other-n1-1600000000" })
        {
            File.WriteAllText(Path.Combine(Dir, name), "x");
        }

        var listed = await RunAsync("ls", "--dir", Dir, "--node-name", "n1", "-o", "json");
        var pruned = await RunAsync("prune", "--dir", Dir, "--node-name", "n1", "--etcd-snapshot-retention", "1");
        var deleted = await RunAsync("delete", "--dir", Dir, "--node-name", "n1", "other-n1-1600000000");

        Assert.Equal(4, JsonDocument.Parse(listed.EnsureSuccess().StandardOutput).RootElement.GetArrayLength());
        Assert.Equal(["Snapshot on-demand-n1-1600000100 deleted", "Snapshot on-demand-n1-1600000000 deleted"],
            pruned.EnsureSuccess().StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal("Snapshot other-n1-1600000000 deleted", deleted.EnsureSuccess().StandardOutput.Trim());
        Assert.Equal(["on-demand-n1-1600000200"], Directory.GetFiles(Dir).Select(Path.GetFileName));
        Assert.False(Directory.Exists(_root.Combine(".metadata")));
    }

    [Fact]
    public async Task Ls_MissingDir_IsAClearError()
    {
        var result = await RunAsync("ls", "--dir", _root.Combine("missing"));

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"node-agent: snapshot directory {_root.Combine("missing")} does not exist", result.StandardError.Trim());
    }

    [Fact]
    public async Task Ls_UnknownOutputFormat_IsRefused()
    {
        var result = await RunAsync("ls", "--dir", _root.Path, "-o", "xml");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("xml", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Save_K3sRuntimeBinaryAndConfig_RecordsTheVersionAndTheFilesWithoutSecrets()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var binary = Runtime.FakeRuntime.Write(_root.Combine("bin", "k3s"), "k3s", "v1.30.4+k3s1");
        var config = _root.Combine("etc", "config.yaml");
        Directory.CreateDirectory(_root.Combine("etc"));
        await File.WriteAllTextAsync(config, "token: K10cli-secret-token\nagent-token: cli-agent-secret\nwrite-kubeconfig-mode: \"0644\"\n");

        var saved = await RunAsync("save", "--endpoints", etcd.ClientUrl, "--dir", Dir, "--node-name", "n1", "--runtime-binary", binary, "--config", config);

        Assert.Equal("", saved.EnsureSuccess().StandardError);
        var listed = Assert.Single(new Agent.Snapshots.LocalSnapshotStore(Dir, "n1").List());
        Assert.Equal("v1.30.4+k3s1", listed.Metadata!.KubernetesVersion);
        using var recorded = JsonDocument.Parse(listed.Metadata.ClusterConfig);
        var file = Assert.Single(recorded.RootElement.GetProperty("files").EnumerateArray());
        Assert.Equal((config, "write-kubeconfig-mode: \"0644\"\n"), (file.GetProperty("path").GetString(), file.GetProperty("content").GetString()));
        Assert.Equal(["token", "agent-token"], file.GetProperty("removedKeys").EnumerateArray().Select(k => k.GetString()));
        foreach (var written in Directory.GetFiles(_root.Path, "*", SearchOption.AllDirectories).Where(f => f != config))
        {
            Assert.DoesNotContain("secret", await File.ReadAllTextAsync(written), StringComparison.Ordinal);
        }
        Assert.DoesNotContain("secret", saved.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Save_RuntimeBinaryAnswersNonsense_WarnsAndStillSaves()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var binary = _root.Combine("bin", "k3s");
        Directory.CreateDirectory(_root.Combine("bin"));
        await File.WriteAllTextAsync(binary, "#!/bin/sh\necho 'Usage: k3s'\n");
        File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        var saved = await RunAsync("save", "--endpoints", etcd.ClientUrl, "--dir", Dir, "--node-name", "n1", "--runtime-binary", binary);

        Assert.Equal($"node-agent: warning: no runtime version recorded: {binary} --version printed \"Usage: k3s\", not \"<name> version v<x.y.z…> …\"",
            saved.EnsureSuccess().StandardError.Trim());
        Assert.Equal("", Assert.Single(new Agent.Snapshots.LocalSnapshotStore(Dir, "n1").List()).Metadata!.KubernetesVersion);
    }

    [Fact]
    public async Task Save_RuntimeConfigAndDropIn_NameDirCompressAndNodeFromThemAndFlagsWin()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var config = _root.Combine("etc", "config.yaml");
        Directory.CreateDirectory(config + ".d");
        await File.WriteAllTextAsync(config, $"token: secret\nnode-name: from-config\netcd-snapshot-dir: {_root.Combine("wrong")}\netcd-snapshot-name: nightly\n");
        await File.WriteAllTextAsync(Path.Combine(config + ".d", "50-snapshots.yaml"), $"etcd-snapshot-dir: {Dir}\netcd-snapshot-compress: true\n");

        var fromConfig = await RunAsync("save", "--config", config, "--endpoints", etcd.ClientUrl);
        var flagsWin = await RunAsync("save", "--config", config, "--endpoints", etcd.ClientUrl, "--node-name", "from-flag", "--name", "manual");

        Assert.Matches(@"^Snapshot nightly-from-config-\d+\.zip saved: ", fromConfig.EnsureSuccess().StandardOutput);
        Assert.Matches(@"^Snapshot manual-from-flag-\d+\.zip saved: ", flagsWin.EnsureSuccess().StandardOutput);
        Assert.Equal(2, VisibleFiles(Dir).Length);
        Assert.False(Directory.Exists(_root.Combine("wrong")));
    }

    [Fact]
    public async Task Ls_RuntimeConfigTurnsS3OnWithoutABucket_ExitsTwoAsTheFlagWould()
    {
        Directory.CreateDirectory(Dir);
        var config = _root.Combine("config.yaml");
        await File.WriteAllTextAsync(config, $"etcd-snapshot-dir: {Dir}\netcd-s3: true\n");

        var result = await RunAsync("ls", "--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("node-agent: --s3-bucket is required for S3", result.StandardError.Trim());
    }

    [Theory]
    [InlineData("missing.yaml", null, "node-agent: --config {0}: no such file")]
    [InlineData("bad.yaml", "etcd-snapshot-dir: [unclosed\n", "node-agent: --config: {0}: not valid YAML")]
    public async Task Ls_ConfigFileUnusable_ExitsTwoWithOneLine(string file, string? text, string expected)
    {
        var config = _root.Combine(file);
        if (text is not null)
        {
            await File.WriteAllTextAsync(config, text);
        }

        var result = await RunAsync("ls", "--config", config, "--dir", _root.Path);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith(string.Format(System.Globalization.CultureInfo.InvariantCulture, expected, config), result.StandardError.Trim(), StringComparison.Ordinal);
        Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    /// <summary>
    /// K3s names the node after the whole host name (os.Hostname), lowercased. The save runs in its own
    /// UTS namespace (<c>unshare -u</c>, root) with a dotted, mixed-case host name; the machine's stays as it is.
    /// </summary>
    [Fact]
    public async Task Save_NoNodeNameAnywhere_TheFullHostNameLowercased()
    {
        await using var etcd = await EtcdServer.StartAsync();
        var result = await CommandRunner.RunAsync("/usr/bin/unshare",
            ["-u", "/bin/sh", "-c", "hostname Node-7.Example.COM && exec \"$0\" \"$@\"", RepoPaths.Executable("node-agent"),
             "etcd-snapshot", "save", "--endpoints", etcd.ClientUrl, "--dir", Dir],
            timeout: TestTimeouts.Slow);

        Assert.Matches(@"^Snapshot on-demand-node-7\.example\.com-\d+ saved: ", result.EnsureSuccess().StandardOutput);
    }

    private static Task<CommandResult> RunAsync(params string[] args)
        => CommandRunner.RunAsync(RepoPaths.Executable("node-agent"), ["etcd-snapshot", .. args], timeout: TestTimeouts.Slow);

    /// <summary>The files of a dir that could be taken for snapshots (not the lock, not sidecars).</summary>
    private static string[] VisibleFiles(string dir) => [.. Directory.GetFiles(dir).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Select(n => n!)];
}
