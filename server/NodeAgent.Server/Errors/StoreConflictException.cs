namespace NodeAgent.Server.Errors;

/// <summary>
/// A record changed in the store since it was read (another request, or another replica, wrote it
/// first): the update was not made. Code that can redo its change on the new state retries; at the
/// API edge it is ABORTED with this message, which tells the caller to retry.
/// </summary>
internal sealed class StoreConflictException(string what)
    : Exception($"{what} was changed by another request (or another plan-server replica) since it was read; nothing was written, retry")
{
    /// <summary>How often a change that can be redone on fresh state is tried before the conflict is reported.</summary>
    public const int Attempts = 5;
}
