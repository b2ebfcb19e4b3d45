namespace NodeAgent.K3sStandIn;

/// <summary>
/// K3s's etcd <c>Test</c>: this member is not a learner, a leader exists, and a member with our name
/// and our peer URL is listed. Polled every 500 ms until it passes, etcd exits, or the server stops.
/// </summary>
internal static class Readiness
{
    public static async Task WaitAsync(ServerSettings settings, EtcdChild etcd, string name, StandInLog log, CancellationToken cancellationToken)
    {
        var tool = new EtcdTool(settings.ClientUrl);
        var said = "";
        while (true)
        {
            if (etcd.Exited.IsCompleted)
            {
                throw new StandInException("etcd exited before it was ready (see its lines above)");
            }
            var reason = await NotReadyReasonAsync(tool, settings, name, cancellationToken);
            if (reason is null)
            {
                return;
            }
            if (reason != said)
            {
                log.Info($"Waiting for etcd to be ready: {reason}");
                said = reason;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private static async Task<string?> NotReadyReasonAsync(EtcdTool tool, ServerSettings settings, string name, CancellationToken cancellationToken)
    {
        var status = await tool.StatusAsync(cancellationToken);
        if (status is null)
        {
            return "etcd does not answer yet";
        }
        if (status.Value.Leader == 0)
        {
            return "no leader yet";
        }
        var members = await tool.MembersAsync(cancellationToken);
        var self = members?.FirstOrDefault(m => m.Id == status.Value.Member);
        if (members is null || self is null)
        {
            return "member list not available yet";
        }
        if (self.IsLearner)
        {
            return "this member is a learner, waiting for the leader to promote it";
        }
        if (self.Name != name || !self.PeerUrls.Contains(settings.PeerUrl))
        {
            return $"this server is a not a member of the etcd cluster. Found [{string.Join(", ", members.Select(m => $"{m.Name}={string.Join(',', m.PeerUrls)}"))}], expect: {name}={settings.PeerUrl}";
        }
        return await tool.HealthyAsync(cancellationToken) ? null : "etcd is not healthy yet";
    }
}
