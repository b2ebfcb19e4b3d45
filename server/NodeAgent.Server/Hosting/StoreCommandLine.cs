using System.CommandLine;
using NodeAgent.Server.Store.Etcd;

namespace NodeAgent.Server.Hosting;

/// <summary>The <c>--store</c> flags, shared by the server and by <c>export</c>/<c>import</c>, so each reads a store the same way.</summary>
internal sealed class StoreCommandLine
{
    private readonly Option<string> _store = new("--store")
    {
        Description = "Where clusters, nodes, operations and the catalog are kept: 'sqlite' (DATA_DIR/plan-server.db, one server) "
            + "or 'etcd' (--store-endpoints; any number of replicas share it, one of them elected to drive operations).",
        DefaultValueFactory = _ => "sqlite",
    };

    private readonly Option<string> _endpoints = new("--store-endpoints")
    {
        Description = "--store etcd: the etcd members' client URLs, comma-separated (http:// or https://).",
    };

    private readonly Option<string> _prefix = new("--store-prefix")
    {
        Description = "--store etcd: the key prefix every record lives under.",
        DefaultValueFactory = _ => EtcdStoreOptions.DefaultPrefix,
    };

    private readonly Option<string> _ca = new("--store-cacert")
    {
        Description = "--store etcd: CA certificate (PEM) that etcd's serving certificates chain to (pinned; no system roots).",
    };

    private readonly Option<string> _cert = new("--store-cert")
    {
        Description = "--store etcd: client certificate (PEM) for etcd's client-cert-auth.",
    };

    private readonly Option<string> _key = new("--store-key")
    {
        Description = "--store etcd: private key (PEM) of --store-cert.",
    };

    public void AddTo(Command command)
    {
        foreach (var option in new[] { _store, _endpoints, _prefix, _ca, _cert, _key })
        {
            command.Options.Add(option);
        }
    }

    /// <summary>The etcd store the flags name, or null for SQLite; false with <paramref name="error"/> when they are wrong.</summary>
    public bool TryParse(ParseResult parse, out EtcdStoreOptions? etcd, out string error)
    {
        etcd = null;
        error = "";
        switch (parse.GetValue(_store))
        {
            case "sqlite":
                if (parse.GetValue(_endpoints) is { Length: > 0 })
                {
                    error = "--store-endpoints is for --store etcd";
                    return false;
                }
                return true;
            case "etcd":
                etcd = EtcdStoreOptions.TryCreate(parse.GetValue(_endpoints), parse.GetValue(_prefix), parse.GetValue(_ca), parse.GetValue(_cert), parse.GetValue(_key), out error);
                return etcd is not null;
            default:
                error = $"--store '{parse.GetValue(_store)}' is not 'sqlite' or 'etcd'";
                return false;
        }
    }
}
