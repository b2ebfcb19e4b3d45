namespace NodeAgent.Server.Plans;

/// <summary>Wakes the long-polls of a cluster's agents when anything their plans derive from changes.</summary>
internal sealed class PlanChangeNotifier(TimeProvider time) : ChangeSignal<string>(time);
