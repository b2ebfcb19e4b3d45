using NodeAgent.Server.Plans;

namespace NodeAgent.Server.Operations;

/// <summary>Wakes WatchOperation streams when their operation changes.</summary>
internal sealed class OperationChangeNotifier(TimeProvider time) : ChangeSignal<string>(time);
