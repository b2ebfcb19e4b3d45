using NodeAgent.Agent.Runtime;
using NodeAgent.Contracts.V1;

namespace NodeAgent.Agent.Probes;

/// <summary>What each kind of probe checks: null when healthy, else why not (one line, for a person).</summary>
internal sealed class ProbeChecks(EtcdHealth etcd, HttpGetCheck http)
{
    public async Task<string?> CheckAsync(Probe probe, CancellationToken cancellationToken) => probe.KindCase switch
    {
        // The local member answers Status (a learner answers too: it is up, only not voting yet).
        Probe.KindOneofCase.EtcdHealth => (await etcd.ProbeAsync(cancellationToken)).Error,
        Probe.KindOneofCase.HttpGet => await http.GetAsync(probe.HttpGet.Url, cancellationToken),
        _ => $"this agent does not know the probe kind {probe.KindCase} (a newer plan server?)",
    };
}
