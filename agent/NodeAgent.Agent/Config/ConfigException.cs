namespace NodeAgent.Agent.Config;

/// <summary>A configuration the agent refuses to start with; the message says what to fix.</summary>
internal sealed class ConfigException(string message) : Exception(message);
