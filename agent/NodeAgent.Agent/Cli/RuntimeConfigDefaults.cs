using System.CommandLine;
using System.Globalization;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Snapshots;

namespace NodeAgent.Agent.Cli;

/// <summary>
/// The runtime's config file as <c>k3s etcd-snapshot</c> reads it (<c>--config</c>, default
/// <c>/etc/rancher/&lt;runtime&gt;/config.yaml</c>, with its <c>.d/*.yaml</c> drop-ins): each key stands for
/// the flag of the same name (<c>node-name</c>, <c>data-dir</c>, <c>etcd-snapshot-dir</c>,
/// <c>etcd-snapshot-compress</c>, <c>etcd-snapshot-retention</c>, <c>etcd-snapshot-name</c>, <c>etcd-s3*</c>),
/// and a flag given on the command line wins. A missing default file is no config; a missing
/// <c>--config</c> file, or one that is not YAML, is a bad request (exit 2).
/// </summary>
internal sealed class RuntimeConfigDefaults
{
    private readonly RuntimeConfigFiles? _config;

    private RuntimeConfigDefaults(RuntimeConfigFiles? config) => _config = config;

    public static RuntimeConfigDefaults None { get; } = new(null);

    /// <summary>The runtime's config file read (its drop-ins beside it), or null for runtime etcd.</summary>
    public string? BasePath => _config?.BasePath;

    /// <exception cref="SnapshotRequestException">An explicit file that is missing, a config with runtime etcd, or a file the runtime could not read either.</exception>
    public static RuntimeConfigDefaults Load(Contracts.V1.Runtime runtime, string? explicitPath)
    {
        if (runtime == Contracts.V1.Runtime.Etcd)
        {
            return explicitPath is null ? None
                : throw new SnapshotRequestException($"--config {explicitPath}: a K3s/RKE2 config file, and --runtime etcd has none");
        }
        var path = explicitPath ?? RuntimeNaming.DefaultConfigFile(runtime);
        if (explicitPath is not null && !File.Exists(path))
        {
            throw new SnapshotRequestException($"--config {path}: no such file");
        }
        try
        {
            return new RuntimeConfigDefaults(RuntimeConfigFiles.Read(path));
        }
        catch (RuntimeConfigException ex)
        {
            throw new SnapshotRequestException($"--config: {ex.Message}");
        }
    }

    /// <summary>The flag's value when given, else the config's <paramref name="key"/> (default: the flag's <c>--etcd-…</c> name), else the flag's default.</summary>
    public string? String(ParseResult parse, Option<string> option, string? key = null)
        => Given(parse, option) ? parse.GetValue(option) : _config?.Scalar(key ?? KeyOf(option)) ?? parse.GetValue(option);

    public bool Bool(ParseResult parse, Option<bool> option, string? key = null)
        => Given(parse, option) || _config?.Scalar(key ?? KeyOf(option)) is null ? parse.GetValue(option) : _config.IsTrue(key ?? KeyOf(option));

    public int Int(ParseResult parse, Option<int> option, string? key = null)
    {
        var name = key ?? KeyOf(option);
        if (Given(parse, option) || _config?.Scalar(name) is not { } text)
        {
            return parse.GetValue(option);
        }
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) ? value
            : throw new SnapshotRequestException($"{_config.BasePath}: {name} \"{text}\" is not a whole number");
    }

    private static bool Given(ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    /// <summary>The config key of a flag: its <c>--etcd-…</c> name when it has one (K3s's server flag), else its own name.</summary>
    private static string KeyOf(Option option)
        => (option.Aliases.FirstOrDefault(a => a.StartsWith("--etcd-", StringComparison.Ordinal)) ?? option.Name).TrimStart('-');
}
