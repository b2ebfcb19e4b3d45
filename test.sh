#!/usr/bin/env bash
# The test command: installs what is missing (idempotently), builds, and runs every test.
#   ./test.sh                         everything
#   ./test.sh --filter "FullyQualifiedName~Etcd"   a subset (any `dotnet test` arguments pass through)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

# The prerequisites install while the solution builds: the build needs none of them, and on a
# clean clone their npm install alone takes a minute or two.
"$root/eng/install-prereqs.sh" &
prereqs=$!
if ! dotnet build NodeAgent.sln -c Release -nologo -clp:ErrorsOnly; then
  wait "$prereqs" || true
  exit 1
fi
wait "$prereqs"

# A whole run builds the packages now, before the tests, with the machine to itself: a Native AOT
# compile, two single-file publishes and xz, 2-3 minutes alone on 2 cores (lintian is left to the
# package tests, which run it on every .deb). Left to the package tests' fixture, it ran beside three
# test assemblies and, on a busy machine, passed its 20-minute bound. With NODEAGENT_PACKAGES_BUILT
# the package tests take what it made, and every test runs the programs the packages ship (the Native
# AOT node-agent, the single-file plan-server and nodeagentctl: RepoPaths.Executable); the agents
# alone spent 6.6 of the suite's 35 CPU-minutes in the JIT build, 0.9 as Native AOT. If it fails
# here, the tests run the solution build's programs and the package fixture runs it again and fails
# with its output. A run with arguments (a filter) leaves it to them.
if (($# == 0)); then
  if "$root/packaging/build.sh" --xz-level 1 --no-lintian; then
    export NODEAGENT_PACKAGES_BUILT=1
  else
    echo "test.sh: packaging/build.sh failed; the package tests will run it again and report it" >&2
  fi
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
set +e
# The tests' .NET processes (the test hosts, plan-server, nodeagentctl, the K3s stand-in; the Native AOT
# agent has no JIT) keep the code the JIT first made: no call counting into tier 1, no dynamic PGO.
# Both pay off in a process that runs for hours; a test's processes live for seconds, and recompiling
# their hot methods cost them about a third of their CPU (two end-to-end tests: 31.7 CPU-s, 22.5 without).
export DOTNET_TC_CallCounting=0 DOTNET_TieredPGO=0
# Three test assemblies at a time (-m:3), started in NodeAgent.sln's order: the end-to-end tests, the
# package tests (about 4 minutes beside the others, lintian most of it; more when their fixture builds)
# and the CLI tests first, then the agent tests and the others, each as a slot frees. The agent and end-to-end assemblies each start
# a Ceph cluster first; started together (with the AOT publish) on a busy machine, both timed out.
# With two at a time (dotnet test's default on 2 cores) the end-to-end assembly, the longest, started
# last; a fourth slot would load the machine more for under a minute by the last measured times.
# env --default-signal: a shell started in the background (`./test.sh &`, nohup, some CI runners) hands
# its children SIGINT and SIGQUIT ignored, and a signal ignored on entry cannot be trapped again, so
# the tests that press Ctrl-C on run.sh and on `etcd-snapshot save` saw nothing happen and failed.
env --default-signal=INT,QUIT dotnet test NodeAgent.sln -c Release --no-build -nologo -m:3 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# One plain closing line for the whole run, summed over the test assemblies.
awk '
  /(Passed|Failed)! +- +Failed: / {
    for (i = 1; i <= NF; i++) {
      if ($i == "Failed:")  { f += $(i+1) + 0 }
      if ($i == "Passed:")  { p += $(i+1) + 0 }
      if ($i == "Skipped:") { s += $(i+1) + 0 }
    }
  }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }
' "$log"
exit "$status"
