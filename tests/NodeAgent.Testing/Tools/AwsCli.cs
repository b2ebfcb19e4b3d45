using NodeAgent.Testing.Processes;

namespace NodeAgent.Testing.Tools;

/// <summary>
/// Runs Debian's awscli (/usr/bin/aws, not whatever else is on PATH) against an S3 endpoint.
/// Keys travel in the environment, never in argv. This is the independent client that proves
/// what our SDK-based code wrote.
/// </summary>
public sealed class AwsCli(string endpointUrl, string accessKey, string secretKey, string? caBundle = null, string region = "us-east-1")
{
    public const string FileName = "/usr/bin/aws";

    public Task<CommandResult> RunAsync(IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        List<string> args = ["--endpoint-url", endpointUrl, "--no-cli-pager", .. arguments];
        if (caBundle is not null)
        {
            args.InsertRange(0, ["--ca-bundle", caBundle]);
        }
        var home = Path.Combine(Path.GetTempPath(), "nodeagent-aws-home");
        Directory.CreateDirectory(home);
        return CommandRunner.RunAsync(FileName, args, new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = accessKey,
            ["AWS_SECRET_ACCESS_KEY"] = secretKey,
            ["AWS_SESSION_TOKEN"] = null,
            ["AWS_DEFAULT_REGION"] = region,
            ["AWS_CONFIG_FILE"] = "/dev/null",
            ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null",
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_PAGER"] = "",
            ["HOME"] = home,
        }, timeout: timeout ?? TestTimeouts.Slow, cancellationToken: cancellationToken);
    }

    public async Task<CommandResult> CopyDownAsync(string bucket, string key, string localPath, CancellationToken cancellationToken = default)
        => (await RunAsync(["s3", "cp", $"s3://{bucket}/{key}", localPath], cancellationToken: cancellationToken)).EnsureSuccess();

    public async Task<CommandResult> CopyUpAsync(string localPath, string bucket, string key, CancellationToken cancellationToken = default)
        => (await RunAsync(["s3", "cp", localPath, $"s3://{bucket}/{key}"], cancellationToken: cancellationToken)).EnsureSuccess();

    public async Task<CommandResult> HeadObjectAsync(string bucket, string key, CancellationToken cancellationToken = default)
        => (await RunAsync(["s3api", "head-object", "--bucket", bucket, "--key", key], cancellationToken: cancellationToken)).EnsureSuccess();
}
