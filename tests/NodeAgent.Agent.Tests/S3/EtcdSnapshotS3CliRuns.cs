using System.Text.Json;
using NodeAgent.Testing;
using NodeAgent.Testing.Processes;
using NodeAgent.Testing.S3;

namespace NodeAgent.Agent.Tests.S3;

/// <summary>
/// Runs <c>node-agent etcd-snapshot</c> against a test S3 server, keys only in the environment, with
/// its snapshots in <see cref="Dir"/> under <see cref="Root"/>; and what its tests check of the result.
/// </summary>
public abstract class EtcdSnapshotS3CliRuns
{
    protected TempDir Root { get; } = new();

    protected string Dir => Path.Combine(Root.Path, "snapshots");

    /// <summary>The one snapshot in <see cref="Dir"/> is whole (sha256 as its sidecar says) and its sidecar records the upload failure.</summary>
    protected void AssertKeptLocally(string reason)
    {
        var file = Assert.Single(Directory.GetFiles(Dir), f => !Path.GetFileName(f).StartsWith('.'));
        var sidecar = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(Path.Combine(Root.Path, ".metadata", Path.GetFileName(file))))!;
        Assert.Equal(sidecar["sha256"], Sha256(file));
        Assert.StartsWith("upload failed: ", sidecar["s3Upload"], StringComparison.Ordinal);
        Assert.Contains(reason, sidecar["s3Upload"], StringComparison.Ordinal);
    }

    /// <summary>Against a hung S3: bounded generously, far above the --s3-timeout under test (before the fix these never ended).</summary>
    protected Task<CommandResult> RunHungAsync(CephRgwServer server, string endpoint, params string[] args)
    {
        var env = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = server.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = server.SecretKey };
        string[] all = ["etcd-snapshot", .. args, "--dir", Dir, "--s3-endpoint", endpoint, "--s3-insecure"];
        return CommandRunner.RunAsync(RepoPaths.Executable("node-agent"), all, env, timeout: TimeSpan.FromSeconds(180));
    }

    protected Task<CommandResult> RunAsync(IS3TestServer server, params string[] args) => RunWithSecretAsync(server, server.SecretKey, args);

    protected Task<CommandResult> RunWithSecretAsync(IS3TestServer server, string secretKey, params string[] args)
        => RunWithAsync(server, server.HttpEndpoint.Authority, secretKey, args);

    protected static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
    }

    protected Task<CommandResult> RunWithAsync(IS3TestServer server, string endpoint, string secretKey, params string[] args)
        => RunWithAsync(server, endpoint, secretKey, args, []);

    protected Task<CommandResult> RunWithAsync(IS3TestServer server, string endpoint, string secretKey, string[] args, params (string Key, string Value)[] environment)
        => Run(server, secretKey, ["etcd-snapshot", .. args, "--dir", Dir, "--s3-endpoint", endpoint, "--s3-insecure"], environment);

    protected Task<CommandResult> RunHttpsAsync(IS3TestServer server, string[] args, params (string Key, string Value)[] environment)
        => Run(server, server.SecretKey, ["etcd-snapshot", .. args, "--dir", Dir, "--s3-endpoint", server.HttpsEndpoint!.Authority], environment);

    protected static Task<CommandResult> Run(IS3TestServer server, string secretKey, string[] args, (string Key, string Value)[] environment)
    {
        var env = new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = server.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = secretKey,
        };
        foreach (var (key, value) in environment)
        {
            env[key] = value;
        }
        return CommandRunner.RunAsync(RepoPaths.Executable("node-agent"), args, env, timeout: TestTimeouts.Slow);
    }
}
