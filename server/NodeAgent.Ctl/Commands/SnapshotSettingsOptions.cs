using System.CommandLine;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Ctl.Commands;

/// <summary>
/// The snapshot-setting flags of <c>cluster create</c> and <c>cluster set-snapshot-config</c>, with
/// K3s's names where they exist. Only flags given change a setting. S3 secrets come from
/// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, never from argv.
/// </summary>
internal sealed class SnapshotSettingsOptions
{
    private readonly Option<bool?> _recurring = new("--recurring") { Description = "Recurring snapshots on or off (default on)." };
    private readonly Option<string> _cron = new("--etcd-snapshot-schedule-cron", "--cron") { Description = "5-field cron (default \"0 */5 * * *\")." };
    private readonly Option<string> _timeZone = new("--time-zone") { Description = "IANA time zone of the cron (default: the node's)." };
    private readonly Option<int?> _retention = new("--etcd-snapshot-retention", "--retention") { Description = "Snapshots kept per name prefix (default 5; 0 keeps all)." };
    private readonly Option<bool?> _compress = new("--etcd-snapshot-compress", "--compress") { Description = "Zip snapshots as K3s does." };
    private readonly Option<string> _name = new("--etcd-snapshot-name") { Description = "Name prefix of recurring snapshots (default etcd-snapshot)." };
    private readonly Option<string> _dir = new("--etcd-snapshot-dir") { Description = "Snapshots dir on the nodes (default <data-dir>/server/db/snapshots)." };
    private readonly Option<string> _bucket = new("--s3-bucket") { Description = "S3 bucket: turns the S3 target on." };
    private readonly Option<string> _endpoint = new("--s3-endpoint") { Description = "S3 endpoint host[:port] (default AWS)." };
    private readonly Option<string> _region = new("--s3-region") { Description = "S3 region (default us-east-1)." };
    private readonly Option<string> _folder = new("--s3-folder") { Description = "Folder (key prefix) in the bucket." };
    private readonly Option<string> _lookup = new Option<string>("--s3-bucket-lookup-type") { Description = "auto, path or dns." }.AcceptOnlyFromAmong("auto", "path", "dns");
    private readonly Option<bool?> _insecure = new("--s3-insecure") { Description = "Plain http to S3." };
    private readonly Option<bool?> _skipVerify = new("--s3-skip-ssl-verify") { Description = "Do not verify S3's certificate (warned about on the nodes)." };
    private readonly Option<string> _endpointCa = new("--s3-endpoint-ca") { Description = "PEM file of the S3 endpoint's CA (added to the system roots)." };
    private readonly Option<string> _proxy = new("--s3-proxy") { Description = "Proxy URL for S3, or 'none'." };
    private readonly Option<string> _timeout = new("--s3-timeout") { Description = "Per-request S3 timeout in seconds (default 300)." };
    private readonly Option<string> _scope = new Option<string>("--s3-retention-scope") { Description = "node (default) or cluster (K3s's behaviour)." }.AcceptOnlyFromAmong("node", "cluster");
    private readonly Option<string> _accessKey = new("--s3-access-key") { Description = "Access key; the secret comes from AWS_SECRET_ACCESS_KEY." };
    private readonly Option<bool> _iam = new("--s3-iam") { Description = "No keys: the nodes use the SDK's default credential chain (IAM role, ...)." };

    public void AddTo(Command command)
    {
        foreach (var option in new Option[] { _recurring, _cron, _timeZone, _retention, _compress, _name, _dir, _bucket, _endpoint, _region, _folder,
            _lookup, _insecure, _skipVerify, _endpointCa, _proxy, _timeout, _scope, _accessKey, _iam })
        {
            command.Add(option);
        }
    }

    /// <summary>A copy of <paramref name="current"/> with every given flag applied.</summary>
    public SnapshotSettings Apply(ParseResult parse, SnapshotSettings? current, IReadOnlyDictionary<string, string> environment)
    {
        var settings = current?.Clone() ?? new SnapshotSettings();
        if (parse.GetValue(_recurring) is { } recurring) { settings.RecurringEnabled = recurring; }
        if (parse.GetValue(_cron) is { } cron) { settings.Cron = cron; }
        if (parse.GetValue(_timeZone) is { } zone) { settings.TimeZone = zone; }
        if (parse.GetValue(_retention) is { } retention) { settings.Retention = retention; }
        if (parse.GetValue(_compress) is { } compress) { settings.Compress = compress; }
        if (parse.GetValue(_name) is { } name) { settings.Name = name; }
        if (parse.GetValue(_dir) is { } dir) { settings.Dir = dir; }
        if (!AnyS3(parse))
        {
            return settings;
        }
        var s3 = settings.S3 ??= new S3Settings();
        if (parse.GetValue(_bucket) is { } bucket) { s3.Bucket = bucket; }
        if (parse.GetValue(_endpoint) is { } endpoint) { s3.Endpoint = endpoint; }
        if (parse.GetValue(_region) is { } region) { s3.Region = region; }
        if (parse.GetValue(_folder) is { } folder) { s3.Folder = folder; }
        if (parse.GetValue(_lookup) is { } lookup) { s3.BucketLookup = lookup switch { "path" => BucketLookup.Path, "dns" => BucketLookup.Dns, _ => BucketLookup.Auto }; }
        if (parse.GetValue(_insecure) is { } insecure) { s3.Insecure = insecure; }
        if (parse.GetValue(_skipVerify) is { } skip) { s3.SkipSslVerify = skip; }
        if (parse.GetValue(_endpointCa) is { } caFile)
        {
            if (!File.Exists(caFile))
            {
                throw new Connection.CtlException($"--s3-endpoint-ca {caFile} does not exist");
            }
            s3.EndpointCa = File.ReadAllText(caFile);
            s3.CaMode = CaMode.Add;
        }
        if (parse.GetValue(_proxy) is { } proxy) { s3.Proxy = proxy; }
        if (parse.GetValue(_timeout) is { } timeout)
        {
            if (!int.TryParse(timeout, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds <= 0)
            {
                throw new Connection.CtlException($"--s3-timeout '{timeout}' must be a positive number of seconds");
            }
            s3.Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds));
        }
        if (parse.GetValue(_scope) is { } scope) { s3.RetentionScope = scope == "cluster" ? RetentionScope.Cluster : RetentionScope.Node; }
        if (parse.GetValue(_iam))
        {
            s3.Credentials = new S3Credentials { DefaultChain = true };
        }
        else if (parse.GetValue(_accessKey) is { } accessKey)
        {
            var secret = environment.GetValueOrDefault("AWS_SECRET_ACCESS_KEY")
                ?? throw new Connection.CtlException("--s3-access-key needs its secret in AWS_SECRET_ACCESS_KEY (never on the command line)");
            s3.Credentials = new S3Credentials
            {
                StaticKeys = new S3Credentials.Types.StaticKeys
                {
                    AccessKey = accessKey,
                    SecretKey = secret,
                    SessionToken = environment.GetValueOrDefault("AWS_SESSION_TOKEN") ?? "",
                },
            };
        }
        return settings;
    }

    private bool AnyS3(ParseResult parse)
        => new Option[] { _bucket, _endpoint, _region, _folder, _lookup, _insecure, _skipVerify, _endpointCa, _proxy, _timeout, _scope, _accessKey, _iam }
            .Any(o => parse.GetResult(o) is { Implicit: false });
}
