using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Hosting.Systemd;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Metrics;
using NodeAgent.Agent.Etcd;
using NodeAgent.Agent.Schedule;
using NodeAgent.Agent.Snapshots;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Probes;
using NodeAgent.Agent.Restore;
using NodeAgent.Agent.Runtime;
using NodeAgent.Agent.Snapshots.Daemon;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Hosting;

/// <summary>The composition root of <c>node-agent run</c>.</summary>
internal static class AgentHost
{
    /// <summary>
    /// How long a stop (SIGTERM) waits for the step in hand before aborting it: the host's shutdown
    /// timeout. The unit's TimeoutStopSec (150 s) leaves 30 s more to report and exit before SIGKILL.
    /// </summary>
    public static readonly TimeSpan StopBound = TimeSpan.FromMinutes(2);

    public static string Version => typeof(AgentHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public static IHost Build(AgentOptions options, IReadOnlyDictionary<string, string> environment)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = "/" });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = StopBound);
        builder.Services.AddAgentDaemon(options, WatchdogFrom(environment));
        var host = builder.Build();
        AgentConfigWarnings.Report(options, host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AgentConfigWarnings)));
        return host;
    }

    public static IServiceCollection AddAgentDaemon(this IServiceCollection services, AgentOptions options, WatchdogSettings watchdog)
    {
        services.AddSingleton(options);
        services.AddSingleton(watchdog);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new AgentIdentity(options.Cluster, options.NodeName, Version));
        services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        services.AddSingleton<SystemdNotifications>();
        services.AddSingleton<IPlanServerClient>(sp => new GrpcPlanServerClient(options, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<GrpcPlanServerClient>>()));
        services.AddSingleton(new CredentialStore(options.StateDir));
        services.AddSingleton(new StepMarkers(options.StateDir));
        services.AddSingleton(StepRetrySettings.Default);
        services.AddSingleton<Registration>();
        services.AddSingleton<StatusReporter>();
        services.AddSingleton<StepRunner>();
        services.AddSingleton<PlanLoop>();
        services.AddSingleton<PlanLoopLiveness>();
        services.AddSingleton<IAgentLiveness>(sp => sp.GetRequiredService<PlanLoopLiveness>());
        services.AddSingleton<AgentMetrics>();
        if (options.MetricsListen is not null)
        {
            services.AddHostedService<MetricsListener>();
        }
        AddSnapshots(services, options);
        AddRuntime(services, options);
        AddProbes(services, options);
        services.AddHostedService<PlanLoopService>();
        services.AddHostedService<WatchdogService>();
        return services;
    }

    /// <summary>Snapshots: the steady state's target and schedule, the instructions' executors, the inventory.</summary>
    private static void AddSnapshots(IServiceCollection services, AgentOptions options)
    {
        var etcd = options.EtcdConnection();
        services.AddSingleton(sp => new SnapshotSaver(() => new GrpcEtcdMaintenance(etcd), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<SnapshotSaver>>()));
        services.AddSingleton<SnapshotTargets>();
        // In this order: the target first, then the schedule that reads it.
        services.AddSingleton<ISteadyStateHandler>(sp => sp.GetRequiredService<SnapshotTargets>());
        services.AddSingleton<ISteadyStateHandler, SteadyStateSchedule>();
        services.AddSingleton<InventoryReporter>();
        services.AddHostedService(sp => sp.GetRequiredService<InventoryReporter>());
        services.AddSingleton<SnapshotManager>();
        services.AddSingleton<NodeSnapshotService>();
        services.AddSingleton<IScheduledSnapshotJob, ScheduledSnapshotJob>();
        services.AddSingleton<RecurringSnapshots>();
        services.AddSingleton<IInstructionExecutor, SaveSnapshotExecutor>();
        services.AddSingleton<IInstructionExecutor, DeleteSnapshotExecutor>();
    }

    /// <summary>Restores: the runtime's driver (k3s, rke2 or etcd), the local member's health, the restore instructions' executors.</summary>
    private static void AddRuntime(IServiceCollection services, AgentOptions options)
    {
        var etcd = options.EtcdConnection();
        services.AddSingleton<ProcessRunner>();
        services.AddSingleton<RuntimeVersion>();
        services.AddSingleton<RuntimeFactsReader>();
        services.AddSingleton<IRuntimeDriver>(sp => options.Runtime == Contracts.V1.Runtime.Etcd
            ? new EtcdDriver(options, sp.GetRequiredService<ProcessRunner>(), sp.GetRequiredService<EtcdHealth>(), sp.GetRequiredService<TimeProvider>())
            : new DistributionDriver(options, sp.GetRequiredService<ProcessRunner>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new EtcdHealth(() => new GrpcEtcdMaintenance(etcd), etcd, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EtcdHealth>>()));
        services.AddSingleton<SnapshotPreflight>();
        services.AddSingleton<IInstructionExecutor, RunKillallExecutor>();
        services.AddSingleton<IInstructionExecutor, StartRuntimeExecutor>();
        services.AddSingleton<IInstructionExecutor, RemoveEtcdDataExecutor>();
        services.AddSingleton<IInstructionExecutor, RestoreSnapshotExecutor>();
        services.AddSingleton<IInstructionExecutor, DownloadSnapshotExecutor>();
        services.AddSingleton<IInstructionExecutor, VerifySnapshotExecutor>();
        services.AddSingleton<IInstructionExecutor, WaitHealthyExecutor>();
        services.AddSingleton<IInstructionExecutor, WriteConfigDropInExecutor>();
        services.AddSingleton<IInstructionExecutor, RemoveConfigDropInExecutor>();
        services.AddSingleton<IInstructionExecutor, RemoveServerCredentialsExecutor>();
        AddRuntimeVersions(services);
    }

    /// <summary>The plan's probes (the local etcd member, the runtime's supervisor), run on their intervals and reported.</summary>
    private static void AddProbes(IServiceCollection services, AgentOptions options)
    {
        services.AddSingleton(_ => new HttpGetCheck(options));
        services.AddSingleton<ProbeChecks>();
        services.AddSingleton<ProbeRunner>();
        services.AddSingleton<ISteadyStateHandler>(sp => sp.GetRequiredService<ProbeRunner>());
        services.AddHostedService(sp => sp.GetRequiredService<ProbeRunner>());
    }

    /// <summary>Restore modes kubernetesVersion and all: the runtime version's check, install and rollback, and the config write-back.</summary>
    private static void AddRuntimeVersions(IServiceCollection services)
    {
        services.AddSingleton<RuntimeInstaller>();
        services.AddSingleton<IInstructionExecutor, CheckRuntimeVersionExecutor>();
        services.AddSingleton<IInstructionExecutor, InstallRuntimeVersionExecutor>();
        services.AddSingleton<IInstructionExecutor, RollbackRuntimeVersionExecutor>();
        services.AddSingleton<IInstructionExecutor, WriteRuntimeConfigExecutor>();
    }

    private static WatchdogSettings WatchdogFrom(IReadOnlyDictionary<string, string> environment)
        => environment.TryGetValue("WATCHDOG_USEC", out var usec) && long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out var micros) && micros > 0
            ? new WatchdogSettings(TimeSpan.FromMicroseconds(micros))
            : new WatchdogSettings(null);
}
