using System.Text.Json.Serialization;
using NodeAgent.Agent.Steps;

namespace NodeAgent.Agent.Plans;

/// <summary>Source-generated JSON for the agent's own state files.</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StoredCredential))]
[JsonSerializable(typeof(StepRecord))]
internal sealed partial class AgentJsonContext : JsonSerializerContext;
