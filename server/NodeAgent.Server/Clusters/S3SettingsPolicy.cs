using NodeAgent.Contracts.V1;
using NodeAgent.Server.Errors;

namespace NodeAgent.Server.Clusters;

/// <summary>Validation of S3 settings, and the redaction of their secrets in answers.</summary>
internal static class S3SettingsPolicy
{
    public static void Validate(S3Settings s3)
    {
        if (string.IsNullOrWhiteSpace(s3.Bucket))
        {
            throw DomainException.Invalid("snapshot_settings.s3.bucket is required when S3 is configured");
        }
        if (s3.Endpoint.Contains("://", StringComparison.Ordinal) || s3.Endpoint.Contains('/', StringComparison.Ordinal))
        {
            throw DomainException.Invalid($"snapshot_settings.s3.endpoint '{s3.Endpoint}' must be host[:port] without a scheme or path (use insecure for plain http)");
        }
        // The agents' rule (S3Settings.Validate): a folder they would refuse is refused here, so a
        // cluster can never hand its nodes settings that stop all their snapshots.
        if (s3.Folder.Length > 0 && s3.Folder.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw DomainException.Invalid(
                $"snapshot_settings.s3.folder '{s3.Folder}' must be a relative path such as 'prod' or 'clusters/prod': no leading or trailing '/', no empty, '.' or '..' parts");
        }
        if (s3.Proxy.Length > 0 && s3.Proxy != "none"
            && (!Uri.TryCreate(s3.Proxy, UriKind.Absolute, out var proxy) || proxy.Host.Length == 0))
        {
            throw DomainException.Invalid($"snapshot_settings.s3.proxy '{s3.Proxy}' must be a URL with scheme and host, or 'none'");
        }
        if (s3.Timeout is { } timeout && timeout.ToTimeSpan() <= TimeSpan.Zero)
        {
            throw DomainException.Invalid("snapshot_settings.s3.timeout must be positive");
        }
        if (s3.Credentials?.StaticKeys is { } keys && (keys.AccessKey.Length == 0) != (keys.SecretKey.Length == 0))
        {
            throw DomainException.Invalid("snapshot_settings.s3.credentials.static_keys needs both access_key and secret_key");
        }
    }

    /// <summary>
    /// Secrets are write-only, so a client that edits settings it read back sends them empty:
    /// an empty secret with the same access key keeps the stored secret.
    /// </summary>
    public static void KeepStoredSecrets(SnapshotSettings next, SnapshotSettings stored)
    {
        if (next.S3?.Credentials?.StaticKeys is { SecretKey.Length: 0 } keys
            && stored.S3?.Credentials?.StaticKeys is { } old && old.AccessKey == keys.AccessKey)
        {
            keys.SecretKey = old.SecretKey;
            keys.SessionToken = keys.SessionToken.Length == 0 ? old.SessionToken : keys.SessionToken;
        }
    }

    /// <summary>A copy without secret values, for answers to operators.</summary>
    public static SnapshotSettings Redact(SnapshotSettings settings)
    {
        var copy = settings.Clone();
        if (copy.S3?.Credentials?.StaticKeys is { } keys)
        {
            keys.SecretKey = "";
            keys.SessionToken = "";
        }
        return copy;
    }
}
