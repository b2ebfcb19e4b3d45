using NodeAgent.Contracts.V1;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Plans;

/// <summary>
/// Derives a node's plan from its cluster: the steady state (schedule, retention, S3 target,
/// probes) for every etcd node. Operation plans are added by the operations feature.
/// </summary>
internal static class PlanBuilder
{
    public static Plan Build(ClusterRecord cluster, NodeRecord node)
    {
        var plan = new Plan
        {
            Cluster = cluster.Name,
            Node = node.Name,
            SteadyState = new SteadyStatePlan
            {
                Runtime = cluster.Runtime,
                KubernetesVersion = cluster.KubernetesVersion,
                ClusterConfiguration = cluster.ClusterConfiguration,
            },
        };
        if (node.Roles.Contains(NodeRole.Etcd))
        {
            plan.SteadyState.SnapshotSettings = cluster.SnapshotSettings.Clone();
            plan.SteadyState.Probes.Add(new Probe
            {
                Name = "etcd",
                Interval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(30)),
                Timeout = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
                EtcdHealth = new EtcdHealthProbe(),
            });
        }
        return PlanChecksum.Seal(plan);
    }
}
