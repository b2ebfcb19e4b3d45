using System.Globalization;
using System.Net;

namespace NodeAgent.Server.Hosting;

/// <summary>Start-up settings of the plan server, validated before anything starts.</summary>
internal sealed class PlanServerOptions
{
    public const string DefaultDataDir = "/var/lib/plan-server";
    public const string DefaultListen = "127.0.0.1:9180";

    public string DataDir { get; set; } = DefaultDataDir;

    public string Listen { get; set; } = DefaultListen;

    /// <summary>Phase deadlines of operations.</summary>
    public Operations.OperationTimeouts Timeouts { get; set; } = new();

    public IPEndPoint ListenEndPoint => IPEndPoint.Parse(Listen);

    public bool TryValidate(out string error)
    {
        if (string.IsNullOrWhiteSpace(DataDir))
        {
            error = "--data-dir must not be empty";
            return false;
        }
        if (!IPEndPoint.TryParse(Listen, out var endPoint) || endPoint.Port == 0 && !Listen.EndsWith(":0", StringComparison.Ordinal))
        {
            error = string.Create(CultureInfo.InvariantCulture,
                $"--listen '{Listen}' is not HOST:PORT with a numeric IP address (e.g. 127.0.0.1:9180)");
            return false;
        }
        error = "";
        return true;
    }
}
