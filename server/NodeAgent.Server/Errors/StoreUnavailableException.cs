namespace NodeAgent.Server.Errors;

/// <summary>The store (etcd) could not be reached or refused the request; the message says which endpoints and why.</summary>
internal sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
