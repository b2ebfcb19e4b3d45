using System.Globalization;

namespace NodeAgent.K3sStandIn;

/// <summary>K3s's log format on stderr: time="…" level=info msg="…".</summary>
internal sealed class StandInLog(string runtime)
{
    private readonly Lock _gate = new();

    public string Runtime => runtime;

    public void Info(string message) => Write("info", message);

    public void Warn(string message) => Write("warning", message);

    public void Error(string message) => Write("error", message);

    public void Fatal(string message) => Write("fatal", message);

    /// <summary>Lines of the etcd child, as K3s's embedded etcd logs them into its own log.</summary>
    public void Etcd(string line)
    {
        lock (_gate)
        {
            Console.Error.WriteLine(line);
        }
    }

    private void Write(string level, string message)
    {
        var now = TimeProvider.System.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss.fffZ", CultureInfo.InvariantCulture);
        lock (_gate)
        {
            Console.Error.WriteLine($"time=\"{now}\" level={level} msg=\"{message.Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
        }
    }
}
