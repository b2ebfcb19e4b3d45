using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Hosting.Systemd;
using NodeAgent.Agent.Config;
using NodeAgent.Agent.Plans;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Hosting;

/// <summary>The composition root of <c>node-agent run</c>.</summary>
internal static class AgentHost
{
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
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddAgentDaemon(options, WatchdogFrom(environment));
        return builder.Build();
    }

    public static IServiceCollection AddAgentDaemon(this IServiceCollection services, AgentOptions options, WatchdogSettings watchdog)
    {
        services.AddSingleton(options);
        services.AddSingleton(watchdog);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new AgentIdentity(options.Cluster, options.NodeName, Version));
        services.AddSingleton<ISystemdNotifier, SystemdNotifier>();
        services.AddSingleton<SystemdNotifications>();
        services.AddSingleton<IPlanServerClient>(sp => new GrpcPlanServerClient(options, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(new CredentialStore(options.StateDir));
        services.AddSingleton(new StepMarkers(options.StateDir));
        services.AddSingleton(StepRetrySettings.Default);
        services.AddSingleton<Registration>();
        services.AddSingleton<StatusReporter>();
        services.AddSingleton<StepRunner>();
        services.AddSingleton<PlanLoop>();
        services.AddHostedService<PlanLoopService>();
        services.AddHostedService<WatchdogService>();
        return services;
    }

    private static WatchdogSettings WatchdogFrom(IReadOnlyDictionary<string, string> environment)
        => environment.TryGetValue("WATCHDOG_USEC", out var usec) && long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out var micros) && micros > 0
            ? new WatchdogSettings(TimeSpan.FromMicroseconds(micros))
            : new WatchdogSettings(null);
}
