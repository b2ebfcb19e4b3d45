namespace NodeAgent.Agent.S3;

/// <summary>
/// An S3 answer's body brought no byte for <see cref="Idle"/> (<c>--s3-timeout</c>): the store hung
/// mid-body (see <see cref="S3BodyTimeout"/>). A <see cref="TimeoutException"/>, as it is one: what
/// handles a timeout of the transfer handles this too.
/// </summary>
internal sealed class S3BodyStalledException(TimeSpan idle, Exception? inner = null)
    : TimeoutException($"no byte of the answer for {S3Settings.Format(idle)}", inner)
{
    /// <summary>How long the body brought nothing before the read was given up.</summary>
    public TimeSpan Idle => idle;
}
