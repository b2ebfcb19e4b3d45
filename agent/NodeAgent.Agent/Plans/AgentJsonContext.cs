using System.Text.Json.Serialization;

namespace NodeAgent.Agent.Plans;

/// <summary>Source-generated JSON for the agent's credential file (the step markers have theirs in Steps).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StoredCredential))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
