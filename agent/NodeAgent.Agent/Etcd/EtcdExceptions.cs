namespace NodeAgent.Agent.Etcd;

/// <summary>etcd could not be reached or refused what was asked: worth retrying later.</summary>
internal sealed class EtcdUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What was asked of etcd is wrong (a bad endpoint, a missing certificate): retrying will not help.</summary>
internal sealed class EtcdRequestException(string message, Exception? inner = null) : Exception(message, inner);
