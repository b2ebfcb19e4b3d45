using NodeAgent.Contracts.V1;
using NodeAgent.Server.Domain;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Plans;

/// <summary>
/// Derives a node's plan from its cluster: the steady state (schedule, retention, S3 target,
/// probes) for every etcd node, and the current phase's instructions of the cluster's active
/// operation for the nodes it involves, exactly as stored when the node's part of the phase began. The two parts stay apart: ending an operation only
/// removes its part.
/// </summary>
internal static class PlanBuilder
{
    public static Plan Build(ClusterRecord cluster, NodeRecord node, OperationRecord? active = null)
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
        }
        plan.SteadyState.Probes.AddRange(NodeProbes.For(cluster.Runtime, node.Roles));
        if (active is { IsActive: true } && active.State.Nodes.Any(n => n.Node == node.Name)
            && active.InstructionsOf(node.Name) is { Count: > 0 } instructions)
        {
            plan.Operation = new OperationPlan
            {
                OperationId = active.Id,
                Type = active.State.Type,
                Phase = active.State.Phase,
                Instructions = { instructions.Select(i => Instruction.Parser.ParseFrom(i.Encoded)) },
            };
        }
        return PlanChecksum.Seal(plan);
    }
}
