namespace NodeAgent.K3sStandIn;

/// <summary>Dispatches the wrapper's flags and the runtime's subcommand.</summary>
internal static class StandIn
{
    public static async Task<int> RunAsync(string[] args)
    {
        WrapperSettings wrapper;
        string[] rest;
        try
        {
            (wrapper, rest) = WrapperSettings.Parse(args);
        }
        catch (StandInException ex)
        {
            await Console.Error.WriteLineAsync("k3s-standin: " + ex.Message);
            return 2;
        }
        var log = new StandInLog(wrapper.Runtime);
        if (rest.Length == 0 || rest[0] is "--help" or "-h" or "help")
        {
            await Console.Out.WriteLineAsync($"{wrapper.Runtime} (k3s-standin): server [--cluster-reset [--cluster-reset-restore-path=PATH]] | --version");
            return rest.Length == 0 ? 1 : 0;
        }
        if (rest[0] is "--version" or "-v" or "version")
        {
            await Console.Out.WriteLineAsync($"{wrapper.Runtime} version {wrapper.Version} (standin)");
            await Console.Out.WriteLineAsync("go version go1.22.5 (standin)");
            return 0;
        }
        if (rest[0] != "server")
        {
            log.Fatal($"the stand-in models only 'server' and '--version', not '{rest[0]}'");
            return 1;
        }
        ServerSettings settings;
        try
        {
            settings = ServerSettings.Resolve(wrapper, rest[1..], log);
        }
        catch (Exception ex) when (ex is StandInException or NodeAgent.Agent.Runtime.RuntimeConfigException)
        {
            log.Fatal(ex.Message);
            return 1;
        }
        using var stop = new CancellationTokenSource();
        using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.Cancel();
        });
        try
        {
            return settings.ClusterReset
                ? await new ClusterReset(settings, log).RunAsync(stop.Token)
                : await new Server(settings, log).RunAsync(stop.Token);
        }
        catch (StandInException ex)
        {
            log.Fatal(ex.Message);
            return 1;
        }
    }
}

/// <summary>A failure the stand-in reports as K3s would: one fatal line, exit 1.</summary>
internal sealed class StandInException(string message) : Exception(message);
