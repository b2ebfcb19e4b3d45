using System.Text.Json.Serialization;

namespace NodeAgent.Agent.Steps;

/// <summary>Source-generated JSON for the step markers' <c>result.json</c> (the same shape as before it moved here).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(StepRecord))]
internal sealed partial class StepsJsonContext : JsonSerializerContext;
