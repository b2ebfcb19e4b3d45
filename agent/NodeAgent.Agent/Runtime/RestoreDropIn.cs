using System.Text;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// The restore's config drop-in, <c>&lt;runtime-config&gt;.d/zz-nodeagent-restore.yaml</c>, holding only
/// <c>server: "&lt;value&gt;"</c> as Rancher's planner writes its own (reference note
/// rancher-planner-and-system-agent.md §2.5): sorted last, it wins over the node's own <c>server:</c>.
/// Written durably with <see cref="RuntimeFiles.Write"/>, mode 0600: the
/// runtime's config dir holds tokens.
/// </summary>
internal static class RestoreDropIn
{
    private const UnixFileMode DirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public static string PathFor(string runtimeConfig) => System.IO.Path.Combine(runtimeConfig + ".d", RuntimeConfigFiles.RestoreDropInName);

    /// <summary>The file's whole content: <c>server: "&lt;value&gt;"</c> and a newline, the value as a YAML double-quoted scalar.</summary>
    public static string Content(string server) => $"server: {Quote(server)}\n";

    /// <summary>Writes the drop-in (replacing one there); creates the .d dir (0755) when missing. Returns its path.</summary>
    public static string Write(string runtimeConfig, string server)
    {
        var path = PathFor(runtimeConfig);
        var dir = System.IO.Path.GetDirectoryName(path)!;
        if (!Directory.Exists(dir))
        {
            Directory.CreateDirectory(dir, DirMode);
            LinuxFiles.FsyncDirectoryOf(dir);
        }
        // The temp file's name does not end in .yaml: the runtime never merges one a crash left.
        RuntimeFiles.Write(path, Encoding.UTF8.GetBytes(Content(server)), RuntimeFiles.Private);
        return path;
    }

    /// <summary>Removes the drop-in; true when there was one.</summary>
    public static bool Remove(string runtimeConfig)
    {
        var path = PathFor(runtimeConfig);
        if (!File.Exists(path))
        {
            return false;
        }
        File.Delete(path);
        LinuxFiles.FsyncDirectoryOf(path);
        return true;
    }

    /// <summary>A YAML double-quoted scalar: backslash, quote and control characters escaped.</summary>
    private static string Quote(string value)
    {
        var text = new StringBuilder("\"", value.Length + 2);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => text.Append(@"\\"),
                '"' => text.Append("\\\""),
                '\n' => text.Append(@"\n"),
                '\t' => text.Append(@"\t"),
                '\r' => text.Append(@"\r"),
                < ' ' or '\u007f' => text.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => text.Append(c),
            };
        }
        return text.Append('"').ToString();
    }
}
