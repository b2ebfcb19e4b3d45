namespace NodeAgent.Testing.Processes;

/// <summary>What a finished command printed and returned.</summary>
public sealed record CommandResult(string FileName, IReadOnlyList<string> Arguments, int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Throws with the command's output when it did not exit 0.</summary>
    public CommandResult EnsureSuccess()
    {
        if (!Succeeded)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(FileName)} {string.Join(' ', Arguments)} exited {ExitCode}.\nstdout:\n{StandardOutput}\nstderr:\n{StandardError}");
        }
        return this;
    }
}
