using Microsoft.AspNetCore.Authentication;
using NodeAgent.Server.Agents;
using NodeAgent.Server.Api;
using NodeAgent.Server.Catalog;
using NodeAgent.Server.Clusters;
using NodeAgent.Server.Operations;
using NodeAgent.Server.Errors;
using NodeAgent.Server.Metrics;
using NodeAgent.Server.Plans;
using NodeAgent.Server.Security;
using NodeAgent.Server.Store;

namespace NodeAgent.Server.Hosting;

/// <summary>One registration method per feature, so Program and PlanServerApp stay short.</summary>
internal static class ServerFeatures
{
    public const string DatabaseFileName = "plan-server.db";

    /// <summary>The store on <paramref name="database"/>, opened (and checked) before anything else is made in the data dir.</summary>
    public static IServiceCollection AddPlanStore(this IServiceCollection services, SqliteDatabase database)
        => services
            .AddSingleton(database)
            .AddSingleton<IPlanStore, SqlitePlanStore>()
            .AddSingleton<IOperationStore, SqliteOperationStore>()
            .AddSingleton<ISnapshotCatalogStore, SqliteCatalogStore>()
            .AddSingleton<IOperationLeadership, SoleServer>();

    /// <summary>
    /// The store in etcd, shared by replicas: one of them is elected to drive operations, and an
    /// etcd watch wakes this replica's waiters on every other replica's changes.
    /// </summary>
    public static IServiceCollection AddEtcdStore(this IServiceCollection services, Store.Etcd.EtcdConnection etcd)
        => services
            .AddSingleton(etcd)
            .AddSingleton(new Store.Etcd.EtcdKeys(etcd.Options.Prefix))
            .AddSingleton<IPlanStore, Store.Etcd.EtcdPlanStore>()
            .AddSingleton<IOperationStore, Store.Etcd.EtcdOperationStore>()
            .AddSingleton<ISnapshotCatalogStore, Store.Etcd.EtcdCatalogStore>()
            .AddSingleton(sp => new Replicas.ReplicaIdentity(
                $"{Environment.MachineName}/{sp.GetRequiredService<PlanServerOptions>().Listen}/{Environment.ProcessId}"))
            .AddSingleton<Replicas.EtcdLeaderElection>()
            .AddSingleton<IOperationLeadership>(sp => sp.GetRequiredService<Replicas.EtcdLeaderElection>())
            .AddHostedService(sp => sp.GetRequiredService<Replicas.EtcdLeaderElection>())
            .AddHostedService<Replicas.StoreChangeWatcher>();

    public static IServiceCollection AddTokenSecurity(this IServiceCollection services, AdminToken adminToken)
    {
        services.AddSingleton(adminToken);
        services.AddAuthentication(Caller.Scheme)
            .AddScheme<AuthenticationSchemeOptions, TokenAuthenticationHandler>(Caller.Scheme, _ => { });
        services.AddAuthorization();
        return services;
    }

    public static IServiceCollection AddClustersAndPlans(this IServiceCollection services, TimeSpan nodeUnreachableAfter)
        => services
            .AddSingleton<PlanChangeNotifier>()
            .AddSingleton<AgentConnections>()
            .AddSingleton<INodePresence>(sp => sp.GetRequiredService<AgentConnections>())
            .AddSingleton<IConnectedAgents>(sp => sp.GetRequiredService<AgentConnections>())
            .AddSingleton(new NodeLivenessOptions(nodeUnreachableAfter))
            .AddSingleton<NodeLiveness>()
            .AddSingleton<ClusterRegistry>()
            .AddSingleton<PlanDelivery>()
            .AddSingleton<SnapshotCatalog>();

    /// <summary>The server's own listing of each cluster's S3 folder (the catalog without nodes).</summary>
    public static IServiceCollection AddS3Listings(this IServiceCollection services)
        => services
            .AddSingleton<S3.IS3SnapshotFolder, S3.AwsS3SnapshotFolder>()
            .AddSingleton<S3ListingMetrics>()
            .AddSingleton<S3ListingTriggers>()
            .AddSingleton(sp => new S3ListingOptions(sp.GetRequiredService<PlanServerOptions>().S3ListInterval))
            .AddSingleton<S3Listings>()
            .AddHostedService<S3ListingService>();

    public static IServiceCollection AddOperations(this IServiceCollection services, OperationTimeouts timeouts)
        => services
            .AddSingleton(timeouts)
            .AddSingleton<OperationChangeNotifier>()
            .AddSingleton<OperationEngine>()
            .AddHostedService<OperationDeadlineService>();

    public static IServiceCollection AddNodeAgentGrpc(this IServiceCollection services)
    {
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<EnumValidationInterceptor>();
            o.Interceptors.Add<DomainErrorInterceptor>();
        });
        services.AddGrpcReflection();
        return services;
    }

    public static WebApplication MapNodeAgentApis(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGrpcService<AgentApi>();
        app.MapGrpcService<ClusterApi>();
        app.MapGrpcService<SnapshotApi>();
        app.MapGrpcService<OperationApi>();
        return app;
    }
}
