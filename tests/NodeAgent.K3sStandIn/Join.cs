namespace NodeAgent.K3sStandIn;

/// <summary>
/// A join through <c>server:</c> (K3s <c>pollJoin</c>/<c>join</c>): the cluster's CA and members are read
/// from the etcd on the server URL's host (K3s asks the supervisor's <c>/cacerts</c> and <c>/db/info</c>;
/// not modelled), the member is added as a learner (retried every 1 s while another learner is joining or
/// the cluster is unhealthy), and etcd starts with state existing.
/// </summary>
internal sealed class Join(ServerSettings settings, NodeFiles files, StandInLog log)
{
    public async Task<(EtcdChild Etcd, string Name)> RunAsync(CancellationToken stop)
    {
        if (settings.Token.Length == 0)
        {
            throw new StandInException("token is required to join a cluster");
        }
        if (!Uri.TryCreate(settings.ServerUrl, UriKind.Absolute, out var url) || url.Scheme != Uri.UriSchemeHttps)
        {
            throw new StandInException($"invalid server url {settings.ServerUrl}: must be https://host:port");
        }
        var remote = new EtcdTool($"http://{ServerSettings.UrlHost(url.IdnHost.Trim('[', ']'))}:2379");
        var name = files.EnsureName();
        var said = "";
        void Waiting(string reason)
        {
            if (reason != said)
            {
                log.Info(reason);
                said = reason;
            }
        }
        while (true)
        {
            stop.ThrowIfCancellationRequested();
            var ca = await remote.GetAsync(NodeFiles.BootstrapKey(settings.Token), stop);
            var members = ca is null ? null : await remote.MembersAsync(stop);
            if (ca is null || members is null)
            {
                Waiting($"Failed to get etcd cluster members from {settings.ServerUrl}, retrying (stand-in reads them from {remote.Endpoint})");
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
                continue;
            }
            if (ca.Length == 0)
            {
                if ((await remote.KeysAsync("/bootstrap/", stop) ?? []).Count > 0)
                {
                    throw new StandInException($"failed to validate token: the cluster at {settings.ServerUrl} holds no bootstrap data for this token (K3s: 401 Unauthorized from /cacerts)");
                }
                Waiting($"Waiting for the server at {settings.ServerUrl} to save its bootstrap data");
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
                continue;
            }
            if (files.LocalCa is { } local && local != ca)
            {
                throw new StandInException($"failed to validate connection to cluster at {settings.ServerUrl}: x509: certificate signed by unknown authority (the local {settings.CaFile} is another cluster's CA)");
            }
            var self = members.FirstOrDefault(m => m.Name == name && m.PeerUrls.Contains(settings.PeerUrl));
            if (self is null)
            {
                if (members.Any(m => NodeNameOf(m.Name) == settings.NodeName))
                {
                    File.Delete(files.NameFile);
                    throw new StandInException("duplicate node name found, please use a unique name for this node");
                }
                log.Info($"Adding member {name}={settings.PeerUrl} to etcd cluster [{string.Join(" ", members.Select(m => $"{m.Name}={string.Join(',', m.PeerUrls)}"))}]");
                var (ok, output) = await remote.RunAsync(["member", "add", name, "--peer-urls", settings.PeerUrl, "--learner"], stop);
                if (!ok)
                {
                    if (output.Contains("too many learner members", StringComparison.Ordinal)
                        || output.Contains("unhealthy", StringComparison.Ordinal)
                        || output.Contains("deadline exceeded", StringComparison.Ordinal))
                    {
                        Waiting($"Waiting for other members to finish joining etcd cluster: {output.Trim().Split('\n')[^1].Replace("Error: ", "", StringComparison.Ordinal)}");
                        await Task.Delay(TimeSpan.FromSeconds(1), stop);
                        continue;
                    }
                    throw new StandInException($"etcd cluster join failed: {output.Trim()}");
                }
                members = await remote.MembersAsync(stop) ?? throw new StandInException($"etcd cluster join failed: {remote.Endpoint} stopped answering");
            }
            var initial = string.Join(',', members
                .SelectMany(m => m.PeerUrls.Select(u => (Name: m.PeerUrls.Contains(settings.PeerUrl) ? name : m.Name, Url: u)))
                .Where(p => p.Name.Length > 0)
                .Select(p => $"{p.Name}={p.Url}"));
            files.WriteBootstrapFiles(ca, settings.Token);
            log.Info($"Starting etcd to join cluster with members [{initial}]");
            return (EtcdChild.Start(settings, name, initial, "existing", forceNewCluster: false, log), name);
        }
    }

    /// <summary>The node name in a member name <c>&lt;node-name&gt;-&lt;8 hex&gt;</c> (K3s cuts at the last hyphen).</summary>
    private static string NodeNameOf(string member)
    {
        var hyphen = member.LastIndexOf('-');
        return hyphen > 1 ? member[..hyphen] : member;
    }
}
