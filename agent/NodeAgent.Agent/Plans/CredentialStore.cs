using System.Text.Json;
using NodeAgent.Agent.Files;

namespace NodeAgent.Agent.Plans;

/// <summary>The node's own credential in <c>&lt;state-dir&gt;/credential.json</c> (0600), kept across restarts.</summary>
internal sealed class CredentialStore(string stateDir)
{
    private string Path => System.IO.Path.Combine(stateDir, "credential.json");

    public StoredCredential? Load(string cluster, string node)
    {
        if (!File.Exists(Path))
        {
            return null;
        }
        var stored = JsonSerializer.Deserialize(File.ReadAllText(Path), AgentJsonContext.Default.StoredCredential);
        return stored is not null && stored.Cluster == cluster && stored.Node == node && stored.Credential.Length > 0 ? stored : null;
    }

    public void Save(StoredCredential credential)
    {
        Directory.CreateDirectory(stateDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        DurableFile.Write(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite,
            stream => JsonSerializer.Serialize(stream, credential, AgentJsonContext.Default.StoredCredential));
    }

    public void Forget() => File.Delete(Path);
}

internal sealed record StoredCredential(string Cluster, string Node, string Credential);
