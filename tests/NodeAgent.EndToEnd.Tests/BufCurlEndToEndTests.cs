using System.Text;
using System.Text.Json;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.Agent;
using NodeAgent.Testing.Etcd;
using NodeAgent.Testing.PlanServer;
using NodeAgent.Testing.Tools;

namespace NodeAgent.EndToEnd.Tests;

/// <summary>
/// Standard gRPC tooling drives the system: <c>buf curl</c>, by server reflection with no protos
/// given, takes a one-time snapshot and restores it on a real plan-server process with a real
/// node-agent process beside a one-member etcd (runtime etcd, local target; the agent stops and
/// starts the member with its scripts). The calls are the ones the README shows for run.sh.
/// </summary>
public sealed class BufCurlEndToEndTests
{
    private static readonly KeyValuePair<string, string>[] Original =
        [new("/app/a", "1"), new("/app/b", "2"), new("/app/c", "3")];

    [Fact]
    public async Task BufCurl_SnapshotThenRestore_EtcdServesExactlyTheSnapshotsKeys()
    {
        using var dir = new TempDir("nodeagent-bufcurl-");
        await using var server = await PlanServerProcess.StartAsync().WithTimeout(TestTimeouts.Slow);
        await using var etcd = await ScriptedEtcdCluster.StartAsync(1).WithTimeout(TestTimeouts.Slow);
        var member = etcd.Members[0];
        var api = new OperatorApi(server, Buf.WriteBearerHeaderFile(dir.Combine("admin-header"), server.AdminToken));
        var services = (await Buf.CurlAsync(server.Address.ToString(), extra: ["--list-services", .. server.BufTlsArgs]).WithTimeout(TestTimeouts.Slow)).EnsureSuccess();
        Assert.Contains("nodeagent.v1.SnapshotService", services.StandardOutput, StringComparison.Ordinal);
        var created = await api.CallAsync("ClusterService/CreateCluster", """{"name":"local","runtime":"RUNTIME_ETCD","snapshotSettings":{"recurringEnabled":false}}""");
        await using var agent = AgentProcess.Start(AgentConfigs.ScriptedEtcd(server, "local", "node-1", member, created.GetProperty("bootstrapToken").GetString()!, dir.Combine("data")));
        await WaitForPlanAppliedAsync(server);
        await EtcdData.PutAsync(member.ClientUrl, Original).WithTimeout(TestTimeouts.Slow);
        var snapshotted = await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout();

        var saving = await api.CallAsync("SnapshotService/CreateSnapshot", """{"cluster":"local"}""");
        AssertFinished(await api.WatchToEndAsync(OperationId(saving)), agent);
        var name = await api.LocalSnapshotNameAsync("node-1");
        await EtcdData.PutAsync(member.ClientUrl, [new("/app/a", "changed"), new("/app/new", "x")]).WithTimeout(TestTimeouts.Slow);
        var restoring = await api.CallAsync("SnapshotService/RestoreSnapshot",
            $$"""{"cluster":"local","snapshot":"{{name}}","restoreMode":"RESTORE_MODE_NONE"}""");
        var restored = await api.WatchToEndAsync(OperationId(restoring));

        AssertFinished(restored, agent);
        Assert.Equal("OPERATION_TYPE_RESTORE", restored.GetProperty("type").GetString());
        await member.WaitHealthyAsync().WithTimeout(TestTimeouts.Slow);
        Assert.Equal(Original.Select(k => k.Key), snapshotted.Keys);
        Assert.Equal(snapshotted, await EtcdData.ReadAllAsync(member.ClientUrl).DefaultTimeout());
    }

    /// <summary>The agent has registered and applied its first plan, so an operation reaches it.</summary>
    private static async Task WaitForPlanAppliedAsync(PlanServerProcess server)
    {
        using var channel = server.CreateAdminChannel();
        var clusters = new ClusterService.ClusterServiceClient(channel);
        await clusters.UntilPlansAppliedAsync("local", 1);
    }

    private static string OperationId(JsonElement response) => response.GetProperty("operation").GetProperty("id").GetString()!;

    private static void AssertFinished(JsonElement operation, AgentProcess agent)
        => Assert.True(operation.GetProperty("phase").GetString() == "OPERATION_PHASE_FINISHED",
            $"{operation.GetProperty("type")} ended: {operation}\n{agent.Process.Output}");

    /// <summary>The operator API through <c>buf curl</c> by reflection, with the bearer header read from a file.</summary>
    private sealed class OperatorApi(PlanServerProcess server, IReadOnlyList<string> auth)
    {
        /// <summary>A unary call (method: <c>Service/Method</c> in nodeagent.v1); its response.</summary>
        public async Task<JsonElement> CallAsync(string method, string data, CancellationToken cancellationToken = default)
        {
            var output = await CurlAsync(method, data, cancellationToken);
            using var response = JsonDocument.Parse(output);
            return response.RootElement.Clone();
        }

        /// <summary>WatchOperation, which the server ends when the operation ends; the last operation it sent.</summary>
        public async Task<JsonElement> WatchToEndAsync(string id)
        {
            var messages = ParseStream(await CurlAsync("OperationService/WatchOperation", $$"""{"id":"{{id}}"}""", CancellationToken.None));
            Assert.NotEmpty(messages);
            return messages[^1].GetProperty("operation");
        }

        /// <summary>The node's local copy in the catalog, which lists it once the agent reports its inventory (possibly just after the operation ends).</summary>
        public async Task<string> LocalSnapshotNameAsync(string node)
        {
            string? name = null;
            await OperationWaits.UntilAsync(async ct =>
            {
                var catalog = await CallAsync("SnapshotService/ListSnapshots", """{"cluster":"local"}""", ct);
                name = catalog.TryGetProperty("snapshots", out var snapshots)
                    ? snapshots.EnumerateArray()
                        .Where(s => s.GetProperty("node").GetString() == node && s.GetProperty("storage").GetString() == "STORAGE_KIND_LOCAL")
                        .Select(s => s.GetProperty("name").GetString())
                        .FirstOrDefault()
                    : null;
                return name is not null;
            });
            return name!;
        }

        private async Task<string> CurlAsync(string method, string data, CancellationToken cancellationToken)
            => (await Buf.CurlAsync($"{server.Address}nodeagent.v1.{method}", data, [.. server.BufTlsArgs, .. auth], cancellationToken)
                .WithTimeout(TestTimeouts.Slow)).EnsureSuccess().StandardOutput;

        /// <summary>buf prints a server stream as one JSON document per message, one after another.</summary>
        private static List<JsonElement> ParseStream(string output)
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(output), new JsonReaderOptions { AllowMultipleValues = true });
            var messages = new List<JsonElement>();
            while (reader.Read())
            {
                messages.Add(JsonElement.ParseValue(ref reader));
            }
            return messages;
        }
    }
}
