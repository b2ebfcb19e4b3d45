#!/usr/bin/env bash
# Runs a benchmark the way the numbers in the issues were taken: installs what is missing
# (the test prerequisites, plus clang and zlib for Native AOT), builds, publishes node-agent as
# the Native AOT binary we ship (artifacts/aot/node-agent), then runs the scenario.
#   tests/NodeAgent.Benchmarks/run.sh snapshot-save [--sizes 100,900] [--pairs 3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
"$root/eng/install-prereqs.sh"
"$root/eng/publish-aot.sh" node-agent
dotnet build NodeAgent.sln -c Release -nologo -clp:ErrorsOnly
exec dotnet run --project tests/NodeAgent.Benchmarks -c Release --no-build -- "$@"
