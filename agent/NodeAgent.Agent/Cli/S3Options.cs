using System.CommandLine;
using NodeAgent.Agent.S3;

namespace NodeAgent.Agent.Cli;

/// <summary>
/// K3s's S3 flags for <c>etcd-snapshot</c>, each with its <c>--etcd-s3*</c> alias. Keys may come from
/// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN instead, so they need not be in argv.
/// A flag not given takes the runtime config's <c>etcd-s3*</c> key (see <see cref="RuntimeConfigDefaults"/>).
/// </summary>
internal sealed class S3Options
{
    private readonly Option<bool> _enabled = new("--s3", "--etcd-s3") { Description = "Also use the S3 target: save uploads (while saving; a zip once made); ls, delete and prune cover the bucket too." };
    private readonly Option<string> _endpoint = new("--s3-endpoint", "--etcd-s3-endpoint") { Description = $"S3 endpoint, host[:port] without scheme (default {S3Settings.DefaultEndpoint})." };
    private readonly Option<string> _endpointCa = new("--s3-endpoint-ca", "--etcd-s3-endpoint-ca") { Description = "CA of the endpoint: a PEM file, or base64 of a PEM. Added to the system roots." };
    private readonly Option<bool> _endpointCaOnly = new("--s3-endpoint-ca-only") { Description = "Trust only --s3-endpoint-ca, not the system roots." };
    private readonly Option<bool> _skipSslVerify = new("--s3-skip-ssl-verify", "--etcd-s3-skip-ssl-verify") { Description = "Do not verify the endpoint's certificate (unsafe; logged)." };
    private readonly Option<string> _accessKey = new("--s3-access-key", "--etcd-s3-access-key") { Description = "Access key (default $AWS_ACCESS_KEY_ID; none: the SDK's credential chain)." };
    private readonly Option<string> _secretKey = new("--s3-secret-key", "--etcd-s3-secret-key") { Description = "Secret key (default $AWS_SECRET_ACCESS_KEY; prefer the environment: argv is visible to other users)." };
    private readonly Option<string> _sessionToken = new("--s3-session-token", "--etcd-s3-session-token") { Description = "Session token (default $AWS_SESSION_TOKEN)." };
    private readonly Option<string> _bucket = new("--s3-bucket", "--etcd-s3-bucket") { Description = "Bucket (required with --s3)." };
    private readonly Option<string> _region = new("--s3-region", "--etcd-s3-region") { Description = $"Region (default {S3Settings.DefaultRegion})." };
    private readonly Option<string> _folder = new("--s3-folder", "--etcd-s3-folder") { Description = "Folder (key prefix) in the bucket." };
    private readonly Option<bool> _insecure = new("--s3-insecure", "--etcd-s3-insecure") { Description = "Plain http to the endpoint." };
    private readonly Option<string> _timeout = new("--s3-timeout", "--etcd-s3-timeout") { Description = "Timeout of each S3 request, its retries included, e.g. 30s, 5m (default 5m)." };
    private readonly Option<string> _uploadTimeout = new("--s3-upload-timeout", "--etcd-s3-upload-timeout") { Description = $"Deadline of a whole upload, e.g. 30m (default {S3Settings.UploadTimeoutInRequests} x --s3-timeout)." };
    private readonly Option<string> _proxy = new("--s3-proxy", "--etcd-s3-proxy") { Description = "Proxy URL, or \"none\" to ignore the *_PROXY environment." };
    private readonly Option<string> _lookup = new("--s3-bucket-lookup-type", "--etcd-s3-bucket-lookup-type") { Description = "auto, path or dns (default auto)." };

    public IEnumerable<Option> All => [_enabled, _endpoint, _endpointCa, _endpointCaOnly, _skipSslVerify, _accessKey, _secretKey, _sessionToken,
        _bucket, _region, _folder, _insecure, _timeout, _uploadTimeout, _proxy, _lookup];

    /// <summary>The S3 settings when <c>--s3</c> is given, validated; otherwise null.</summary>
    public S3Settings? Read(ParseResult parse, RuntimeConfigDefaults config)
    {
        if (!config.Bool(parse, _enabled))
        {
            return null;
        }
        if (config.Bool(parse, _skipSslVerify))
        {
            Console.Error.WriteLine("node-agent: warning: --s3-skip-ssl-verify: the S3 endpoint's certificate is not verified; anyone on the path can read and change snapshots");
        }
        string Value(Option<string> option, string? environment = null, string fallback = "")
            => config.String(parse, option) is { Length: > 0 } given ? given
                : environment is not null && Environment.GetEnvironmentVariable(environment) is { Length: > 0 } fromEnvironment ? fromEnvironment
                : fallback;
        return new S3Settings
        {
            Endpoint = Value(_endpoint, fallback: S3Settings.DefaultEndpoint),
            EndpointCa = Value(_endpointCa),
            EndpointCaOnly = parse.GetValue(_endpointCaOnly),
            SkipSslVerify = config.Bool(parse, _skipSslVerify),
            AccessKey = Value(_accessKey, "AWS_ACCESS_KEY_ID"),
            SecretKey = Value(_secretKey, "AWS_SECRET_ACCESS_KEY"),
            SessionToken = Value(_sessionToken, "AWS_SESSION_TOKEN"),
            Bucket = Value(_bucket),
            Region = Value(_region, fallback: S3Settings.DefaultRegion),
            Folder = Value(_folder),
            Insecure = config.Bool(parse, _insecure),
            Timeout = Value(_timeout) is { Length: > 0 } timeout ? S3Settings.ParseTimeout(timeout) : TimeSpan.FromMinutes(5),
            UploadTimeout = Value(_uploadTimeout) is { Length: > 0 } upload ? S3Settings.ParseTimeout(upload, "--s3-upload-timeout") : null,
            Proxy = Value(_proxy),
            BucketLookup = S3Settings.ParseLookup(Value(_lookup)),
        }.Validated();
    }
}
