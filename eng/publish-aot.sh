#!/usr/bin/env bash
# Publishes node-agent as a Native AOT binary into artifacts/aot/ (what packages ship: nodes have
# no .NET runtime). Installs the native toolchain AOT needs (Debian clang, zlib1g-dev) if missing.
#   eng/publish-aot.sh node-agent [dotnet publish arguments, e.g. -p:Version=1.2.3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-node-agent}" in
  node-agent) project="$root/agent/NodeAgent.Agent/NodeAgent.Agent.csproj" ;;
  *) echo "publish-aot: unknown program $1 (node-agent)" >&2; exit 2 ;;
esac
missing=()
for p in clang zlib1g-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "publish-aot: apt-get install ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
arch="$(dpkg --print-architecture)"; [ "$arch" = amd64 ] && arch=x64
dotnet publish "$project" -c Release -r "linux-$arch" -p:PublishAot=true -nologo -clp:ErrorsOnly -o "$root/artifacts/aot" "${@:2}"
