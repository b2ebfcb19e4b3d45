using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Runtime;

/// <summary>
/// Files the runtime reads (its binary, its config), replaced so that a crash leaves the old file or
/// the new one, never half of either: written through <see cref="DurableFile"/> with the temporary
/// file <c>&lt;path&gt;.nodeagent-tmp</c> beside it.
/// </summary>
internal static class RuntimeFiles
{
    public const string TempSuffix = ".nodeagent-tmp";

    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Replaces (or creates) <paramref name="path"/> with <paramref name="content"/>, mode <paramref name="mode"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> content, UnixFileMode mode)
        => DurableFile.Write(path, mode, content, path + TempSuffix);

    /// <summary>Replaces (or creates) <paramref name="target"/> with a copy of <paramref name="source"/>, mode <paramref name="mode"/>.</summary>
    public static async Task CopyAsync(string source, string target, UnixFileMode mode, CancellationToken cancellationToken)
    {
        await using var from = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await DurableFile.WriteAsync(target, mode, async (to, ct) => await from.CopyToAsync(to, ct), target + TempSuffix, cancellationToken);
    }
}
