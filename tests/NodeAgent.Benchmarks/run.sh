#!/usr/bin/env bash
# Runs a benchmark the way the numbers in the issues were taken: installs what is missing
# (the test prerequisites, plus clang and zlib for Native AOT), builds, publishes node-agent as
# the Native AOT binary we ship (artifacts/aot/node-agent), then runs the scenario.
# The publish and the build are skipped when their outputs are newer than every source they are
# made from (they take minutes on a small machine); NODEAGENT_BENCH_REBUILD=1 forces both.
#   tests/NodeAgent.Benchmarks/run.sh snapshot-save [--sizes 100,900] [--pairs 3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh"

# Succeeds when OUTPUT exists and no source file under the given dirs (bin/ and obj/ aside) or
# build-wide file is newer than it.
up_to_date() {
  local output="$1"; shift
  [ "${NODEAGENT_BENCH_REBUILD:-0}" != 1 ] && [ -e "$output" ] || return 1
  local newer
  newer="$(find "$@" global.json Directory.Build.props Directory.Packages.props \
    \( -name bin -o -name obj \) -prune -o -type f -newer "$output" -print -quit)"
  [ -z "$newer" ]
}

if up_to_date artifacts/aot/node-agent agent protos; then
  echo "run.sh: artifacts/aot/node-agent is up to date, not publishing again"
else
  "$root/eng/publish-aot.sh" node-agent
fi
bench_dll=tests/NodeAgent.Benchmarks/bin/Release/net10.0/NodeAgent.Benchmarks.dll
if up_to_date "$bench_dll" agent server protos tests/NodeAgent.Benchmarks tests/NodeAgent.Testing; then
  echo "run.sh: the build is up to date, not building again"
else
  dotnet build NodeAgent.sln -c Release -nologo -clp:ErrorsOnly
  # An up-to-date build leaves its outputs' times alone: mark this one as checked now.
  touch "$bench_dll"
fi
exec dotnet run --project tests/NodeAgent.Benchmarks -c Release --no-build -- "$@"
