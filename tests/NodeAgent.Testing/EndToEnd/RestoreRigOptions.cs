namespace NodeAgent.Testing.EndToEnd;

/// <summary>The few parts of a <see cref="RestoreRig"/> a case needs other than the default.</summary>
public sealed record RestoreRigOptions
{
    /// <summary>Etcd members, and so nodes (node-1..N, each on its member).</summary>
    public int Members { get; init; } = 3;

    /// <summary>Extra plan-server arguments (e.g. a shorter --node-unreachable-after).</summary>
    public IReadOnlyList<string> ServerArgs { get; init; } = [];

    /// <summary>Cluster prod's Kubernetes version ("" for none).</summary>
    public string KubernetesVersion { get; init; } = "v1.30.4+k3s1";

    /// <summary>Whether cluster prod's S3 target is the rig's bucket (the bucket is made either way); false: no S3.</summary>
    public bool S3 { get; init; } = true;

    /// <summary>The S3 endpoint (host:port) in cluster prod's target when not RGW's own: e.g. a TcpRelay in front of it.</summary>
    public string? S3Endpoint { get; init; }

    /// <summary>
    /// Plan-server replicas on this etcd store (client URLs, comma-separated): the rig starts
    /// <see cref="Replicas"/> of them (--store etcd), <see cref="RestoreRig.Server"/> is the first, and
    /// every agent is given all their addresses. Null: one server on SQLite.
    /// </summary>
    public string? StoreEndpoints { get; init; }

    public int Replicas { get; init; } = 1;

    /// <summary>The agents' poll-wait, when not their default.</summary>
    public string? PollWait { get; init; }

    /// <summary>
    /// Runs once etcd holds <see cref="RestoreRig.Original"/> and the bucket and node dirs exist,
    /// before the cluster is created and the agents start: what a node or the bucket holds already
    /// (e.g. a snapshot K3s made).
    /// </summary>
    public Func<RestoreRig, Task>? BeforeCluster { get; init; }
}
