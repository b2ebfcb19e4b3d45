namespace NodeAgent.Server.Errors;

/// <summary>The data dir is not in a state to serve from; plan-server prints the message as one line and exits 1.</summary>
internal sealed class StartupRefusedException(string message) : Exception(message);
