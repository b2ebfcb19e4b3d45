namespace NodeAgent.Server.Domain;

/// <summary>
/// One instruction given to a node: its id (the phase machine follows the node by it), its kind
/// (for metrics) and the instruction in the plan's encoding, made once when the node's list was
/// computed; the node's plan carries exactly these bytes.
/// </summary>
internal sealed record PlannedInstruction(string Id, string Kind, byte[] Encoded);

/// <summary>
/// A node's instructions in the operation's current phase (for a K3s/RKE2 restart, its current
/// pass), computed once when its part of the phase began and stored with the operation: plan
/// building, step recording and the phase machines read this list, never a recomputed one.
/// </summary>
internal sealed record NodeInstructions(string Node, IReadOnlyList<PlannedInstruction> Instructions);
