using NodeAgent.Contracts.V1;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Security;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Clusters;

/// <summary>Clusters and their nodes: creation, settings, registration. Every change wakes the cluster's agents.</summary>
internal sealed class ClusterRegistry(IPlanStore store, PlanChangeNotifier notifier, TimeProvider time)
{
    public async Task<ClusterRecord> CreateAsync(CreateClusterRequest request, CancellationToken cancellationToken)
    {
        Names.RequireClusterName(request.Name);
        if (request.Runtime == Runtime.Unspecified)
        {
            throw DomainException.Invalid("runtime is required: RUNTIME_K3S, RUNTIME_RKE2 or RUNTIME_ETCD");
        }
        var now = time.GetUtcNow();
        var cluster = new ClusterRecord(
            request.Name, request.Runtime, request.KubernetesVersion, request.ClusterConfiguration,
            SnapshotSettingsPolicy.Normalize(request.SnapshotSettings), request.TokenHash,
            Secrets.NewToken("na-bootstrap-"), now, now);
        return await store.TryAddClusterAsync(cluster, cancellationToken)
            ?? throw new DomainException(DomainErrorKind.AlreadyExists, $"cluster '{request.Name}' already exists");
    }

    public async Task<ClusterRecord> GetAsync(string name, CancellationToken cancellationToken)
        => await store.GetClusterAsync(name, cancellationToken)
            ?? throw DomainException.NotFound($"cluster '{name}' does not exist");

    public Task<IReadOnlyList<ClusterRecord>> ListAsync(CancellationToken cancellationToken)
        => store.ListClustersAsync(cancellationToken);

    public async Task<ClusterRecord> UpdateAsync(UpdateClusterRequest request, CancellationToken cancellationToken)
    {
        var cluster = await GetAsync(request.Name, cancellationToken);
        cluster = cluster with
        {
            KubernetesVersion = request.HasKubernetesVersion ? request.KubernetesVersion : cluster.KubernetesVersion,
            ClusterConfiguration = request.HasClusterConfiguration ? request.ClusterConfiguration : cluster.ClusterConfiguration,
            TokenHash = request.HasTokenHash ? request.TokenHash : cluster.TokenHash,
            UpdatedAt = time.GetUtcNow(),
        };
        return await SaveAsync(cluster, cancellationToken);
    }

    public async Task<ClusterRecord> SetSnapshotSettingsAsync(string name, SnapshotSettings settings, CancellationToken cancellationToken)
    {
        var cluster = await GetAsync(name, cancellationToken);
        var requested = settings?.Clone() ?? new SnapshotSettings();
        S3SettingsPolicy.KeepStoredSecrets(requested, cluster.SnapshotSettings);
        cluster = cluster with { SnapshotSettings = SnapshotSettingsPolicy.Normalize(requested), UpdatedAt = time.GetUtcNow() };
        return await SaveAsync(cluster, cancellationToken);
    }

    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (!await store.DeleteClusterAsync(name, cancellationToken))
        {
            throw DomainException.NotFound($"cluster '{name}' does not exist");
        }
        notifier.Changed(name);
    }

    /// <summary>
    /// Checks the bootstrap token and gives the node a new credential (returned once, stored hashed).
    /// A name already registered stays bound to its credential: only a caller holding it
    /// (<paramref name="provesNode"/>) or the first caller after an operator's reset gets a new one.
    /// </summary>
    public async Task<(NodeRecord Node, string Credential)> RegisterAsync(RegisterRequest request, bool provesNode, CancellationToken cancellationToken)
    {
        Names.RequireNodeName(request.Node);
        var cluster = await store.GetClusterAsync(request.Cluster, cancellationToken);
        if (cluster is null || !Secrets.FixedTimeEquals(request.BootstrapToken, cluster.BootstrapToken))
        {
            // One answer for both, so a caller cannot probe which clusters exist.
            throw new DomainException(DomainErrorKind.PermissionDenied,
                $"bootstrap token is not valid for cluster '{request.Cluster}'");
        }
        if (request.Runtime != Runtime.Unspecified && request.Runtime != cluster.Runtime)
        {
            throw new DomainException(DomainErrorKind.FailedPrecondition,
                $"node '{request.Node}' runs {request.Runtime} but cluster '{cluster.Name}' is {cluster.Runtime}");
        }
        var roles = request.Roles.Count > 0 ? request.Roles.Distinct().ToArray() : [NodeRole.Etcd];
        var peerUrls = EtcdMember.RequirePeerUrls(request.EtcdPeerUrls);
        var advertiseAddress = AdvertiseAddress.Require(request.AdvertiseAddress, "advertise_address");
        var memberName = EtcdMember.RequireName(request.EtcdMemberName.Length > 0 || peerUrls.Count == 0 ? request.EtcdMemberName : request.Node);
        var previous = await store.GetNodeAsync(cluster.Name, request.Node, cancellationToken);
        if (previous is { CredentialReset: false } && !provesNode)
        {
            throw new DomainException(DomainErrorKind.AlreadyExists,
                $"node '{request.Node}' is already registered in cluster '{cluster.Name}' with its own credential; "
                + $"to give the name to a new agent run 'nodeagentctl node reset {request.Node} --cluster {cluster.Name}' first");
        }
        var initNode = previous?.InitNode
            ?? (roles.Contains(NodeRole.Etcd) && !await store.HasInitNodeAsync(cluster.Name, cancellationToken));
        var credential = Secrets.NewToken("na-node-");
        var node = new NodeRecord(cluster.Name, request.Node, roles, initNode, Secrets.Sha256Hex(credential),
            time.GetUtcNow(), time.GetUtcNow(), "", request.AgentVersion)
        {
            EtcdMemberName = memberName,
            EtcdPeerUrls = peerUrls,
            // What the agent found on the node before: its next full report says it again.
            AdvertiseAddress = advertiseAddress.Length > 0 ? advertiseAddress : previous?.AdvertiseAddress ?? "",
            RuntimeVersion = previous?.RuntimeVersion ?? "",
            RuntimeSnapshotsEnabled = previous?.RuntimeSnapshotsEnabled ?? false,
            // Replaces exactly the registration read above: two agents racing for one name cannot both get it.
            Revision = previous?.Revision ?? 0,
        };
        node = await store.UpsertNodeAsync(node, cancellationToken);
        notifier.Changed(cluster.Name);
        return (node, credential);
    }

    /// <summary>Revokes the node's credential (its agent is refused from now on) so the next registration of the name claims it.</summary>
    public async Task<NodeRecord> ResetNodeAsync(string cluster, string name, CancellationToken cancellationToken)
    {
        var node = await GetNodeAsync(cluster, name, cancellationToken);
        // The hash of a credential nobody was given: the column stays unique and nothing matches it.
        node = await store.UpdateNodeAsync(node with { CredentialHash = Secrets.Sha256Hex(Secrets.NewToken("na-reset-")), CredentialReset = true }, cancellationToken);
        notifier.Changed(cluster);
        return node;
    }

    public async Task<IReadOnlyList<NodeRecord>> ListNodesAsync(string cluster, CancellationToken cancellationToken)
    {
        await GetAsync(cluster, cancellationToken);
        return await store.ListNodesAsync(cluster, cancellationToken);
    }

    public async Task<NodeRecord> GetNodeAsync(string cluster, string node, CancellationToken cancellationToken)
        => await store.GetNodeAsync(cluster, node, cancellationToken)
            ?? throw DomainException.NotFound($"node '{node}' is not registered in cluster '{cluster}'");

    public async Task<NodeRecord> UpdateNodeAsync(UpdateNodeRequest request, CancellationToken cancellationToken)
    {
        var node = await GetNodeAsync(request.Cluster, request.Node, cancellationToken);
        if (request.Roles.Count > 0)
        {
            node = node with { Roles = request.Roles.Distinct().ToArray() };
        }
        if (request.MakeInitNode)
        {
            foreach (var other in await store.ListNodesAsync(request.Cluster, cancellationToken))
            {
                if (other.InitNode && other.Name != node.Name)
                {
                    await store.UpdateNodeAsync(other with { InitNode = false }, cancellationToken);
                }
            }
            node = node with { InitNode = true };
        }
        node = await store.UpdateNodeAsync(node, cancellationToken);
        notifier.Changed(request.Cluster);
        return node;
    }

    private async Task<ClusterRecord> SaveAsync(ClusterRecord cluster, CancellationToken cancellationToken)
    {
        cluster = await store.UpdateClusterAsync(cluster, cancellationToken);
        notifier.Changed(cluster.Name);
        return cluster;
    }
}
