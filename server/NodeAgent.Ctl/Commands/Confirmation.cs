namespace NodeAgent.Ctl.Commands;

/// <summary>Destructive commands ask first, unless --yes; without a terminal they refuse instead of guessing.</summary>
internal static class Confirmation
{
    public static bool Ask(string question, bool yes, TextReader input, TextWriter error, bool interactive)
    {
        if (yes)
        {
            return true;
        }
        if (!interactive)
        {
            error.WriteLine($"nodeagentctl: {question} Refusing without a terminal: pass --yes.");
            return false;
        }
        error.Write($"{question} [y/N] ");
        var answer = input.ReadLine()?.Trim();
        return string.Equals(answer, "y", StringComparison.OrdinalIgnoreCase) || string.Equals(answer, "yes", StringComparison.OrdinalIgnoreCase);
    }
}
