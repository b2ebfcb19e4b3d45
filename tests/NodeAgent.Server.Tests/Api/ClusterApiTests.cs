using Grpc.Core;
using NodeAgent.Contracts.V1;
using NodeAgent.Testing;
using NodeAgent.Testing.PlanServer;

namespace NodeAgent.Server.Tests;

public sealed class ClusterApiTests : IAsyncLifetime
{
    private InProcessPlanServer _server = null!;
    private ClusterService.ClusterServiceClient _clusters = null!;

    public async Task InitializeAsync()
    {
        _server = await InProcessPlanServer.StartAsync().WithTimeout(TestTimeouts.Slow);
        _clusters = new ClusterService.ClusterServiceClient(_server.CreateAdminChannel());
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task CreateCluster_NoSettings_TakesRancherDefaultsAndReturnsBootstrapToken()
    {
        var created = await _clusters.CreateClusterAsync(new CreateClusterRequest { Name = "prod", Runtime = Runtime.K3S }).ResponseAsync.DefaultTimeout();

        Assert.StartsWith("na-bootstrap-", created.BootstrapToken, StringComparison.Ordinal);
        var settings = created.Cluster.SnapshotSettings;
        Assert.True(settings.RecurringEnabled);
        Assert.Equal("0 */5 * * *", settings.Cron);
        Assert.Equal(5, settings.Retention);
        Assert.Equal("etcd-snapshot", settings.Name);

        var got = await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod", IncludeBootstrapToken = true }).ResponseAsync.DefaultTimeout();
        Assert.Equal(created.BootstrapToken, got.BootstrapToken);
        var without = await _clusters.GetClusterAsync(new GetClusterRequest { Name = "prod" }).ResponseAsync.DefaultTimeout();
        Assert.Empty(without.BootstrapToken);
    }

    [Fact]
    public async Task CreateCluster_RetentionZero_KeptAsPruningDisabled()
    {
        var created = await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "keep-all",
            Runtime = Runtime.Rke2,
            SnapshotSettings = new SnapshotSettings { Retention = 0, RecurringEnabled = false },
        }).ResponseAsync.DefaultTimeout();

        Assert.Equal(0, created.Cluster.SnapshotSettings.Retention);
        Assert.False(created.Cluster.SnapshotSettings.RecurringEnabled);
    }

    [Theory]
    [InlineData("Bad_Name", "0 */5 * * *", 5, "", "must be a DNS label")]
    [InlineData("c1", "not a cron", 5, "", "is not a 5-field cron expression")]
    [InlineData("c2", "0 */5 * * *", -1, "", "retention must be 0 (keep all) or more")]
    [InlineData("c3", "0 */5 * * *", 5, "../etc", "must be a bare file name")]
    [InlineData("c4", "* * * * * *", 5, "", "is not a 5-field cron expression")]
    public async Task CreateCluster_InvalidInput_InvalidArgumentSaysWhatToFix(string name, string cron, int retention, string prefix, string expected)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = name,
            Runtime = Runtime.K3S,
            SnapshotSettings = new SnapshotSettings { Cron = cron, Retention = retention, Name = prefix },
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(expected, ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateCluster_S3WithoutBucket_InvalidArgument()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "s3",
            Runtime = Runtime.K3S,
            SnapshotSettings = new SnapshotSettings { S3 = new S3Settings { Endpoint = "127.0.0.1:9000" } },
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("bucket is required", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/prod/")]
    [InlineData("prod/")]
    [InlineData("a//b")]
    [InlineData("a/../b")]
    public async Task CreateCluster_S3FolderTheAgentsWouldRefuse_InvalidArgument(string folder)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "s3",
            Runtime = Runtime.K3S,
            SnapshotSettings = new SnapshotSettings { S3 = new S3Settings { Endpoint = "127.0.0.1:9000", Bucket = "b", Folder = folder } },
        }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains($"snapshot_settings.s3.folder '{folder}' must be a relative path", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateCluster_Twice_AlreadyExists()
    {
        await _clusters.CreateClusterAsync(new CreateClusterRequest { Name = "dup", Runtime = Runtime.Etcd }).ResponseAsync.DefaultTimeout();

        var ex = await Assert.ThrowsAsync<RpcException>(() => _clusters.CreateClusterAsync(
            new CreateClusterRequest { Name = "dup", Runtime = Runtime.Etcd }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.AlreadyExists, ex.StatusCode);
    }

    [Fact]
    public async Task GetCluster_Unknown_NotFoundNamesIt()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _clusters.GetClusterAsync(new GetClusterRequest { Name = "nope" }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("'nope'", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetCluster_S3SecretKey_NeverReturned()
    {
        await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "secret",
            Runtime = Runtime.K3S,
            SnapshotSettings = new SnapshotSettings
            {
                S3 = new S3Settings
                {
                    // Loopback: the server lists the target itself (nothing answers there; the test is about the secret).
                    Endpoint = "127.0.0.1:9",
                    Bucket = "b",
                    Credentials = new S3Credentials { StaticKeys = new S3Credentials.Types.StaticKeys { AccessKey = "AK", SecretKey = "very-secret" } },
                },
            },
        }).ResponseAsync.DefaultTimeout();

        var got = await _clusters.GetClusterAsync(new GetClusterRequest { Name = "secret" }).ResponseAsync.DefaultTimeout();

        Assert.Equal("AK", got.Cluster.SnapshotSettings.S3.Credentials.StaticKeys.AccessKey);
        Assert.Empty(got.Cluster.SnapshotSettings.S3.Credentials.StaticKeys.SecretKey);
    }

    [Fact]
    public async Task SetSnapshotSettings_SecretSentBackEmpty_KeepsTheStoredSecret()
    {
        var keys = new S3Credentials.Types.StaticKeys { AccessKey = "AK", SecretKey = "very-secret" };
        await _clusters.CreateClusterAsync(new CreateClusterRequest
        {
            Name = "edit",
            Runtime = Runtime.K3S,
            SnapshotSettings = new SnapshotSettings { S3 = new S3Settings { Endpoint = "127.0.0.1:9", Bucket = "b", Credentials = new S3Credentials { StaticKeys = keys } } },
        }).ResponseAsync.DefaultTimeout();
        var readBack = (await _clusters.GetClusterAsync(new GetClusterRequest { Name = "edit" }).ResponseAsync.DefaultTimeout()).Cluster.SnapshotSettings;
        readBack.Retention = 9;

        await _clusters.SetSnapshotSettingsAsync(new SetSnapshotSettingsRequest { Cluster = "edit", SnapshotSettings = readBack }).ResponseAsync.DefaultTimeout();

        // The agent's plan carries the secret; the operator's view never does.
        var created = await _clusters.GetClusterAsync(new GetClusterRequest { Name = "edit", IncludeBootstrapToken = true }).ResponseAsync.DefaultTimeout();
        var agent = new AgentService.AgentServiceClient(_server.CreateChannel());
        var registered = await agent.RegisterAsync(new RegisterRequest { Cluster = "edit", Node = "n1", BootstrapToken = created.BootstrapToken }).ResponseAsync.DefaultTimeout();
        var plan = (await new AgentService.AgentServiceClient(_server.CreateChannel(registered.NodeCredential))
            .GetPlanAsync(new GetPlanRequest { Cluster = "edit", Node = "n1" }).ResponseAsync.DefaultTimeout()).Plan;
        Assert.Equal(9, plan.SteadyState.SnapshotSettings.Retention);
        Assert.Equal("very-secret", plan.SteadyState.SnapshotSettings.S3.Credentials.StaticKeys.SecretKey);
        Assert.Empty(created.Cluster.SnapshotSettings.S3.Credentials.StaticKeys.SecretKey);
    }

    [Fact]
    public async Task AnyOperatorCall_NoCredential_Unauthenticated()
    {
        var anonymous = new ClusterService.ClusterServiceClient(_server.CreateChannel());

        var ex = await Assert.ThrowsAsync<RpcException>(() => anonymous.ListClustersAsync(new ListClustersRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task AnyOperatorCall_WrongToken_Unauthenticated()
    {
        var wrong = new ClusterService.ClusterServiceClient(_server.CreateChannel("na-admin-not-the-token"));

        var ex = await Assert.ThrowsAsync<RpcException>(() => wrong.ListClustersAsync(new ListClustersRequest()).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public void AdminToken_File_IsOwnerOnly()
    {
        var mode = File.GetUnixFileMode(Path.Combine(_server.DataDir, "admin-token"));

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_server.DataDir, "plan-server.db")));
    }
}
