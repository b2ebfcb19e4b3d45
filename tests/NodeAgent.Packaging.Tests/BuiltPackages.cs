using NodeAgent.Testing;
using NodeAgent.Testing.Processes;

namespace NodeAgent.Packaging.Tests;

/// <summary>
/// Runs <c>packaging/build.sh</c> once for the tests that share it: publishes node-agent as Native
/// AOT and the others self-contained, builds the three .debs and the tarball (1-5 minutes on 2 cores).
/// Under <c>./test.sh</c> without arguments the packages are already built (NODEAGENT_PACKAGES_BUILT=1).
/// </summary>
public sealed class BuiltPackages : IAsyncLifetime
{
    /// <summary>Publishing AOT alone takes 1-3 minutes; lintian and xz need another one or two.</summary>
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(20);

    /// <summary>The version the build's programs print (Directory.Build.props), which build.sh uses by default.</summary>
    public string Version { get; private set; } = "";

    /// <summary>The Debian spelling: a prerelease's '-' becomes '~', so 1.2.0~rc.1 sorts before 1.2.0.</summary>
    public string DebVersion => Version.IndexOf('-', StringComparison.Ordinal) is var dash and >= 0
        ? Version[..dash] + "~" + Version[(dash + 1)..]
        : Version;

    public string Architecture { get; private set; } = "";

    public string Directory { get; } = Path.Combine(RepoPaths.Root, "artifacts", "packages");

    public string Tarball => Path.Combine(Directory, $"nodeagent-{Version}-linux-{Architecture}.tar.gz");

    public string Deb(string package) => Path.Combine(Directory, $"{package}_{DebVersion}_{Architecture}.deb");

    public async Task InitializeAsync()
    {
        var printed = (await CommandRunner.RunAsync(RepoPaths.Executable("node-agent"), ["--version"]).DefaultTimeout())
            .EnsureSuccess().StandardOutput.Trim();
        Version = printed.Split('+')[0];
        Architecture = (await CommandRunner.RunAsync("/usr/bin/dpkg", ["--print-architecture"]).DefaultTimeout())
            .EnsureSuccess().StandardOutput.Trim();

        if (Environment.GetEnvironmentVariable("NODEAGENT_PACKAGES_BUILT") == "1")
        {
            // ./test.sh built them from this checkout before the tests started (see there why).
            return;
        }
        // xz level 1: at Debian's 6, xz alone spent over two CPU-minutes of a test run on the three
        // programs, for packages 10% smaller; the level changes nothing the tests check.
        // Lintian_EveryDeb_NoErrors runs lintian: build.sh need not run it first.
        (await CommandRunner.RunAsync(Path.Combine(RepoPaths.Root, "packaging", "build.sh"), ["--xz-level", "1", "--no-lintian"], timeout: BuildTimeout)
            .WithTimeout(BuildTimeout + TimeSpan.FromMinutes(1))).EnsureSuccess();
    }

    public Task DisposeAsync() => Task.CompletedTask;
}
