using Google.Protobuf.WellKnownTypes;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Server.Plans;

/// <summary>
/// The probes a node's plan carries: <c>etcd-health</c> on every etcd node (the local member
/// answers Status), and on every K3s/RKE2 server (etcd or control-plane role) <c>supervisor</c>: a
/// GET of the supervisor's <c>/ping</c> on the node itself, <c>https://127.0.0.1:6443/ping</c> (K3s
/// serves its supervisor and the apiserver on one port) or <c>https://127.0.0.1:9345/ping</c> (RKE2).
/// Why <c>/ping</c>: it is the supervisor's own unauthenticated endpoint (it answers <c>pong</c>; agents
/// use it before they hold any credential), so the probe needs no secret. <c>/readyz</c> on 6443
/// belongs to the apiserver and answers only an authorized client when anonymous auth is off (as in
/// the CIS-hardened setups), which would tie the probe to a client certificate; and RKE2's 9345 has no
/// <c>/readyz</c>. The certificate is the runtime's (its server CA signs it; the agent trusts that CA for
/// this probe). Workers run no supervisor and get no probe.
/// </summary>
internal static class NodeProbes
{
    public const string EtcdHealth = "etcd-health";

    public const string Supervisor = "supervisor";

    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static IEnumerable<Probe> For(Runtime runtime, IReadOnlyList<NodeRole> roles)
    {
        if (roles.Contains(NodeRole.Etcd))
        {
            yield return Probe(EtcdHealth, p => p.EtcdHealth = new EtcdHealthProbe());
        }
        if (runtime is Runtime.K3S or Runtime.Rke2 && (roles.Contains(NodeRole.Etcd) || roles.Contains(NodeRole.ControlPlane)))
        {
            var url = runtime == Runtime.K3S ? "https://127.0.0.1:6443/ping" : "https://127.0.0.1:9345/ping";
            yield return Probe(Supervisor, p => p.HttpGet = new HttpGetProbe { Url = url });
        }
    }

    private static Probe Probe(string name, Action<Probe> kind)
    {
        var probe = new Probe { Name = name, Interval = Duration.FromTimeSpan(Interval), Timeout = Duration.FromTimeSpan(Timeout) };
        kind(probe);
        return probe;
    }
}
