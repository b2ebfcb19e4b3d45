using System.Globalization;
using System.Text;

namespace NodeAgent.Testing.S3;

/// <summary>
/// ceph.conf for one monitor, one memstore OSD and one radosgw, all on 127.0.0.1 with every
/// file inside one work directory (see shared/reference/ceph-rgw-on-one-host.md).
/// </summary>
internal static class CephConfig
{
    public static string Write(string workDir, string fsid, int monPort, int s3Port, int? s3TlsPort, string? tlsBundle)
    {
        var frontends = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"beast endpoint=127.0.0.1:{s3Port}"));
        if (s3TlsPort is { } tls && tlsBundle is not null)
        {
            frontends.Append(CultureInfo.InvariantCulture, $" ssl_endpoint=127.0.0.1:{tls} ssl_certificate={tlsBundle}");
        }
        var conf = $$"""
            [global]
            fsid = {{fsid}}
            mon host = [v2:127.0.0.1:{{monPort}}]
            public addr = 127.0.0.1
            cluster addr = 127.0.0.1
            ms bind msgr1 = false
            auth cluster required = cephx
            auth service required = cephx
            auth client required = cephx
            osd pool default size = 1
            osd pool default min size = 1
            osd pool default pg num = 8
            osd pool default pgp num = 8
            osd pool default pg autoscale mode = off
            osd crush chooseleaf type = 0
            mon allow pool size one = true
            paxos propose interval = 0.01
            run dir = {{workDir}}/run
            admin socket = {{workDir}}/run/$cluster-$name.asok
            pid file = {{workDir}}/run/$cluster-$name.pid
            log file = {{workDir}}/$cluster-$name.log
            crash dir = {{workDir}}/crash
            mon data = {{workDir}}/mon/$cluster-$id
            osd data = {{workDir}}/osd/$cluster-$id

            [client.admin]
            keyring = {{workDir}}/ceph.client.admin.keyring

            [osd]
            osd objectstore = memstore
            memstore device bytes = 8589934592
            osd crush update on start = true

            [client.rgw.gw]
            keyring = {{workDir}}/ceph.client.rgw.gw.keyring
            rgw frontends = {{frontends}}
            rgw gc obj min wait = 60
            rgw gc processor period = 60
            """;
        var path = Path.Combine(workDir, "ceph.conf");
        File.WriteAllText(path, conf + "\n");
        return path;
    }
}
