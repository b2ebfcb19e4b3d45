using System.Globalization;
using System.Security.Cryptography;

namespace NodeAgent.Agent.Tests.Runtime;

/// <summary>
/// A stand-in executable: a small shell script put where the agent is configured to find k3s,
/// rke2, their killall scripts or the service commands. The real k3s and rke2 cannot run on this
/// machine (they need root, containerd, cgroups and a whole node), and a test must not stop a real
/// service; what we must prove is that the agent calls them exactly as K3s, RKE2 and Rancher
/// document (reference notes: k3s-rke2-snapshots.md §5, rancher-planner-and-system-agent.md §2.4–2.5).
/// So the stand-in records its argv, environment and working directory, prints a line on each
/// stream, and exits with the code it was given.
/// </summary>
internal sealed class StandIn
{
    private readonly string _record;

    public StandIn(string path, int exitCode = 0, string stdout = "stand-in stdout", string stderr = "stand-in stderr")
    {
        Path = path;
        _record = path + ".calls";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, string.Create(CultureInfo.InvariantCulture, $$"""
            #!/bin/sh
            # Stand-in for {{System.IO.Path.GetFileName(path)}} (see StandIn.cs): records how it was called.
            {
              echo "call"
              echo "argv0=$0"
              for a in "$@"; do echo "arg=$a"; done
              echo "cwd=$(pwd)"
              env | sort | sed 's/^/env=/'
            } >> '{{_record}}'
            echo '{{stdout}}'
            echo '{{stderr}}' >&2
            exit {{exitCode}}

            """));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    public string Path { get; }

    /// <summary>Each call as the stand-in saw it, in order.</summary>
    public IReadOnlyList<Call> Calls()
    {
        if (!File.Exists(_record))
        {
            return [];
        }
        var calls = new List<Call>();
        List<string>? args = null;
        Dictionary<string, string>? env = null;
        string cwd = "";
        foreach (var line in File.ReadAllLines(_record))
        {
            if (line == "call")
            {
                if (args is not null)
                {
                    calls.Add(new Call(args, env!, cwd));
                }
                (args, env, cwd) = ([], new Dictionary<string, string>(StringComparer.Ordinal), "");
            }
            else if (line.StartsWith("arg=", StringComparison.Ordinal))
            {
                args!.Add(line["arg=".Length..]);
            }
            else if (line.StartsWith("cwd=", StringComparison.Ordinal))
            {
                cwd = line["cwd=".Length..];
            }
            else if (line.StartsWith("env=", StringComparison.Ordinal) && line.IndexOf('=', 4) is var eq and > 4)
            {
                env![line[4..eq]] = line[(eq + 1)..];
            }
        }
        if (args is not null)
        {
            calls.Add(new Call(args, env!, cwd));
        }
        return calls;
    }

    /// <summary>The one call there was.</summary>
    public Call Single() => Assert.Single(Calls());

    internal sealed record Call(IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment, string WorkingDirectory);

    /// <summary>
    /// A file with etcd's snapshot framing: random "db" bytes followed by their sha256, the trailer
    /// the agent checks. The stand-ins never read it, so it needs no real bolt db inside.
    /// </summary>
    public static string FramedSnapshot(string path, int dbBytes = 64 * 1024)
    {
        var db = RandomNumberGenerator.GetBytes(dbBytes);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [.. db, .. SHA256.HashData(db)]);
        return path;
    }

    public static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
