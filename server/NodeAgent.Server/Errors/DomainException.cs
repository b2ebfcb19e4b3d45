namespace NodeAgent.Server.Errors;

/// <summary>What kind of domain failure; mapped to a gRPC status only at the API edge.</summary>
internal enum DomainErrorKind
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    PermissionDenied,
}

/// <summary>A request the server refuses, with a message that says what to fix.</summary>
internal sealed class DomainException(DomainErrorKind kind, string message) : Exception(message)
{
    public DomainErrorKind Kind { get; } = kind;

    public static DomainException Invalid(string message) => new(DomainErrorKind.InvalidArgument, message);

    public static DomainException NotFound(string message) => new(DomainErrorKind.NotFound, message);
}
