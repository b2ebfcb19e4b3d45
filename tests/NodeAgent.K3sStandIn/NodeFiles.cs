using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace NodeAgent.K3sStandIn;

/// <summary>
/// The files K3s keeps about a server's identity: <c>db/etcd/name</c>, the token, the bootstrap
/// marker's key (<c>/bootstrap/&lt;sha256(token password)[:12]&gt;</c>), the CA
/// (<c>tls/server-ca.crt</c>, here an opaque id), <c>cred/</c>, and the dirs moved aside.
/// </summary>
internal sealed class NodeFiles(ServerSettings settings, StandInLog log)
{
    public const int BackupRetention = 5;

    public string NameFile => Path.Combine(settings.EtcdDir, "name");

    public string TombstoneFile => Path.Combine(settings.EtcdDir, "tombstone");

    public string ResetFlag => Path.Combine(settings.DbDir, "reset-flag");

    public string TokenFile => Path.Combine(settings.ServerDir, "token");

    public bool HasWal => Directory.Exists(Path.Combine(settings.EtcdDir, "member", "wal"));

    /// <summary>K3s's bootstrap key for a token: the password part of <c>K10&lt;hash&gt;::server:&lt;password&gt;</c>, or the bare token.</summary>
    public static string BootstrapKey(string token)
    {
        var password = token.StartsWith("K10", StringComparison.Ordinal) && token.Contains("::", StringComparison.Ordinal)
            ? token[(token.LastIndexOf(':') + 1)..]
            : token;
        return "/bootstrap/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(password)))[..12];
    }

    public static string NewCaId() => "standin-ca-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    public static string NewToken() => "K10standin::server:" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The local CA id, or null when <c>tls/server-ca.crt</c> is missing.</summary>
    public string? LocalCa => File.Exists(settings.CaFile) ? File.ReadAllText(settings.CaFile).Trim() : null;

    /// <summary>The member name in <c>db/etcd/name</c>, written as <c>&lt;node-name&gt;-&lt;8 hex&gt;</c> when missing (K3s <c>setName</c>).</summary>
    public string EnsureName()
    {
        if (File.Exists(NameFile))
        {
            return File.ReadAllText(NameFile).Trim();
        }
        return WriteNewName();
    }

    public string WriteNewName()
    {
        var name = settings.NodeName + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        Directory.CreateDirectory(settings.EtcdDir);
        WritePrivate(NameFile, name);
        return name;
    }

    /// <summary>What K3s rewrites from the datastore's bootstrap data: the CA, the credentials, the token file.</summary>
    public void WriteBootstrapFiles(string caId, string token)
    {
        Directory.CreateDirectory(settings.TlsDir);
        if (LocalCa != caId)
        {
            File.WriteAllText(settings.CaFile, caId + "\n");
        }
        var cred = Path.Combine(settings.ServerDir, "cred");
        Directory.CreateDirectory(cred);
        WritePrivate(Path.Combine(cred, "passwd"), "standin,server,server\n");
        if (token.Length > 0)
        {
            WritePrivate(TokenFile, token + "\n");
        }
    }

    /// <summary>K3s <c>backupDirWithRetention</c>: keeps the 5 newest <c>etcd-backup-*</c> dirs, then renames <c>db/etcd</c> to <c>etcd-backup-&lt;unix&gt;</c>.</summary>
    public string? BackupEtcdWithRetention()
    {
        if (!Directory.Exists(settings.EtcdDir))
        {
            return null;
        }
        var backups = new DirectoryInfo(settings.DbDir).GetDirectories("etcd-backup*").OrderByDescending(d => d.LastWriteTimeUtc).ToList();
        foreach (var old in backups.Skip(BackupRetention))
        {
            old.Delete(recursive: true);
        }
        var target = Aside("etcd-backup-");
        Directory.Move(settings.EtcdDir, target);
        return target;
    }

    /// <summary><c>db/etcd</c> → <c>db/etcd-old-&lt;unix&gt;</c> (never pruned, as K3s).</summary>
    public string? MoveEtcdOld()
    {
        if (!Directory.Exists(settings.EtcdDir))
        {
            return null;
        }
        var target = Aside("etcd-old-");
        Directory.Move(settings.EtcdDir, target);
        return target;
    }

    public void WriteResetFlag() => WritePrivate(ResetFlag, "");

    /// <summary>K3s's reset backs the certificates up to <c>tls-&lt;unix&gt;</c> before rewriting them.</summary>
    public string? BackupTls()
    {
        if (!Directory.Exists(settings.TlsDir))
        {
            return null;
        }
        var target = Path.Combine(settings.ServerDir, "tls-" + Unix());
        CopyDirectory(settings.TlsDir, target);
        log.Info($"Cluster reset: backing up certificates directory to {target}");
        return target;
    }

    public static string Unix() => TimeProvider.System.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private string Aside(string prefix)
    {
        var target = Path.Combine(settings.DbDir, prefix + Unix());
        for (var n = 2; Directory.Exists(target); n++)
        {
            target = Path.Combine(settings.DbDir, prefix + Unix() + "-" + n.ToString(CultureInfo.InvariantCulture));
        }
        return target;
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
        foreach (var dir in Directory.GetDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }

    private static void WritePrivate(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(path, text);
    }
}
