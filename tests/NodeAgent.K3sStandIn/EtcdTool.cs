using System.Diagnostics;
using System.Text.Json;
using NodeAgent.Testing.Etcd;

namespace NodeAgent.K3sStandIn;

/// <summary>One member as <c>etcdctl member list -w json</c> shows it.</summary>
internal sealed record MemberInfo(ulong Id, string Name, IReadOnlyList<string> PeerUrls, bool IsLearner)
{
    public string HexId => Id.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>etcdctl (API v3) against one endpoint, with a deadline per call.</summary>
internal sealed class EtcdTool(string endpoint)
{
    public string Endpoint => endpoint;

    public async Task<(bool Ok, string Output)> RunAsync(IEnumerable<string> args, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var (ok, stdout, stderr) = await RunSplitAsync(args, cancellationToken, timeout);
        return (ok, stdout + stderr);
    }

    /// <summary>As <see cref="RunAsync"/>, with stdout apart (etcdctl logs client warnings as JSON on stderr).</summary>
    public async Task<(bool Ok, string StandardOutput, string StandardError)> RunSplitAsync(IEnumerable<string> args, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(WrapperSettings.EtcdctlBinary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.Environment["ETCDCTL_API"] = "3";
        foreach (var arg in (IEnumerable<string>)["--endpoints", endpoint, "--dial-timeout", "2s", "--command-timeout", "5s", .. args])
        {
            psi.ArgumentList.Add(arg);
        }
        using var process = Process.Start(psi) ?? throw new StandInException("cannot start etcdctl");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(15));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            cancellationToken.ThrowIfCancellationRequested();
            return (false, "", $"etcdctl {string.Join(' ', args)} timed out");
        }
        return (process.ExitCode == 0, await stdout, await stderr);
    }

    /// <summary>The member list, or null when the endpoint does not answer.</summary>
    public async Task<IReadOnlyList<MemberInfo>?> MembersAsync(CancellationToken cancellationToken)
    {
        var (ok, output, _) = await RunSplitAsync(["member", "list", "-w", "json"], cancellationToken);
        if (!ok)
        {
            return null;
        }
        using var doc = JsonDocument.Parse(output);
        return [.. doc.RootElement.GetProperty("members").EnumerateArray().Select(m => new MemberInfo(
            m.GetProperty("ID").GetUInt64(),
            m.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "",
            m.TryGetProperty("peerURLs", out var p) ? [.. p.EnumerateArray().Select(u => u.GetString() ?? "")] : [],
            m.TryGetProperty("isLearner", out var l) && l.GetBoolean()))];
    }

    /// <summary>(this member's id, the leader's id), or null when the endpoint does not answer.</summary>
    public async Task<(ulong Member, ulong Leader)?> StatusAsync(CancellationToken cancellationToken)
    {
        var (ok, output, _) = await RunSplitAsync(["endpoint", "status", "-w", "json"], cancellationToken);
        if (!ok)
        {
            return null;
        }
        var status = EndpointStatusJson.Parse(output);
        return (status.MemberId, status.Leader);
    }

    /// <summary>A key's value, "" when absent, null when the endpoint does not answer.</summary>
    public async Task<string?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var (ok, output, _) = await RunSplitAsync(["get", key, "--print-value-only"], cancellationToken);
        return ok ? output.TrimEnd('\n') : null;
    }

    /// <summary>Every key under a prefix (keys only).</summary>
    public async Task<IReadOnlyList<string>?> KeysAsync(string prefix, CancellationToken cancellationToken)
    {
        var (ok, output, _) = await RunSplitAsync(["get", prefix, "--prefix", "--keys-only"], cancellationToken);
        return ok ? output.Split('\n', StringSplitOptions.RemoveEmptyEntries) : null;
    }

    public async Task<bool> PutAsync(string key, string value, CancellationToken cancellationToken)
        => (await RunAsync(["put", key, value], cancellationToken)).Ok;

    /// <summary>Healthy = this member serves a linearizable read (a leader exists, not a learner).</summary>
    public async Task<bool> HealthyAsync(CancellationToken cancellationToken)
        => (await RunAsync(["endpoint", "health"], cancellationToken)).Ok;
}
