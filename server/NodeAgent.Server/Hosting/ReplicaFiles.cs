using Etcdserverpb;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Files;
using NodeAgent.Server.Security;
using NodeAgent.Server.Store.Etcd;

namespace NodeAgent.Server.Hosting;

/// <summary>
/// With the etcd store, every replica must accept the same operator token and serve under the CA
/// that agents and nodeagentctl pin. The first replica to start puts its admin token and CA into the
/// store (PREFIX/server-files/…); every later one takes them into its data dir. A data dir that
/// holds other ones (another server's) is refused, naming the file, rather than splitting the fleet's trust.
/// </summary>
internal static class ReplicaFiles
{
    private static readonly string[] Shared = [AdminToken.FileName, $"{ServerTls.Directory}/{ServerTls.CaCertFile}", $"{ServerTls.Directory}/{ServerTls.CaKeyFile}"];

    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(30);

    public static void Share(EtcdConnection etcd, EtcdKeys keys, PlanServerOptions options, TimeProvider time)
    {
        using var timeout = new CancellationTokenSource(StartBound);
        try
        {
            ShareAsync(etcd, keys, options, time, timeout.Token).GetAwaiter().GetResult();
        }
        catch (StoreUnavailableException ex)
        {
            throw new StartupRefusedException($"cannot start on the etcd store: {ex.Message}");
        }
        catch (OperationCanceledException)
        {
            throw new StartupRefusedException($"cannot start on the etcd store: no answer within {StartBound.TotalSeconds:0} s");
        }
    }

    private static async Task ShareAsync(EtcdConnection etcd, EtcdKeys keys, PlanServerOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        string Local(string name) => Path.Combine(options.DataDir, name);
        string Key(string name) => keys.ServerFile(name);
        var madeHere = Shared.Where(name => !File.Exists(Local(name))).ToList();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var stored = (await etcd.RangeAsync(Kv.Prefix(keys.ServerFiles), cancellationToken)).Kvs
                .ToDictionary(kv => Kv.Text(kv.Key)[keys.ServerFiles.Length..], kv => kv.Value.ToByteArray(), StringComparer.Ordinal);
            if (stored.Count > 0)
            {
                Adopt(stored, options.DataDir, keys);
                return;
            }
            // The store has none yet: this replica's (made now when the data dir is new) become everyone's.
            AdminToken.LoadOrCreate(options.DataDir);
            ServerTls.LoadOrCreate(options.DataDir, ServerTls.DefaultNames(options.ListenEndPoint, options.TlsSans), time).Dispose();
            var request = new TxnRequest();
            foreach (var name in Shared)
            {
                request.Compare.Add(Kv.Absent(Key(name)));
                request.Success.Add(Kv.Put(Key(name), Google.Protobuf.ByteString.CopyFrom(File.ReadAllBytes(Local(name)))));
            }
            if ((await etcd.TxnAsync(request, cancellationToken)).Succeeded)
            {
                return;
            }
            // Another replica put its own first: the files this start made give way to the store's.
            foreach (var name in madeHere)
            {
                File.Delete(Local(name));
            }
            if (madeHere.Any(name => name.StartsWith(ServerTls.Directory + "/", StringComparison.Ordinal)))
            {
                // Issued by the CA that gave way: the serving certificate is made again under the store's.
                File.Delete(Path.Combine(options.DataDir, ServerTls.Directory, "server.crt"));
                File.Delete(Path.Combine(options.DataDir, ServerTls.Directory, "server.key"));
            }
        }
        throw new StartupRefusedException($"the etcd store's server files under {keys.Prefix}/server-files/ changed while this replica started; start it again");
    }

    private static void Adopt(Dictionary<string, byte[]> stored, string dataDir, EtcdKeys keys)
    {
        var missing = Shared.Where(name => !stored.ContainsKey(name)).ToList();
        if (missing.Count > 0)
        {
            throw new StartupRefusedException(
                $"the etcd store under {keys.Prefix} holds server files but not {string.Join(", ", missing)}; restore them with 'plan-server import' or use a new --store-prefix");
        }
        foreach (var name in Shared)
        {
            var path = Path.Combine(dataDir, name);
            if (File.Exists(path))
            {
                if (!File.ReadAllBytes(path).AsSpan().SequenceEqual(stored[name]))
                {
                    throw new StartupRefusedException(
                        $"{path} differs from the one every replica shares in the etcd store under {keys.Prefix} (this data dir belongs to another plan server): "
                        + "move the data dir aside so this replica takes the store's, or give it another --store-prefix");
                }
                continue;
            }
            Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            using var file = PrivateFile.CreateNew(path);
            file.Write(stored[name]);
            file.Flush(flushToDisk: true);
        }
    }
}
