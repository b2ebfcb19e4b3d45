using System.Text.Json;

namespace NodeAgent.Server.Operations;

/// <summary>
/// A K3s/RKE2 snapshot's recorded runtime configuration (its Snapshot.cluster_configuration):
/// <c>{"format":"nodeagent.runtime-config/v1","files":[{"path","content","removedKeys"}]}</c>.
/// Restore mode all writes it back, so a restore checks at request time that it is one.
/// </summary>
internal static class RuntimeConfigDocument
{
    public const string Format = "nodeagent.runtime-config/v1";

    public static bool IsOne(string text)
    {
        if (text.Length == 0)
        {
            return false;
        }
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.String && format.GetString() == Format
                && root.TryGetProperty("files", out var files) && files.ValueKind == JsonValueKind.Array;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
