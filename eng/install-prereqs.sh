#!/usr/bin/env bash
# Installs what the build and the tests need, idempotently: Debian packages (etcd, awscli, tinyproxy, prometheus (promtool and a real scraper for the metrics tests),
# Ceph for the RADOS Gateway S3 server, openssl; for packaging/build.sh and its test the Native AOT
# toolchain and the Debian packaging tools) and the pinned npm tools (s3rver, buf) into .tools/npm,
# which git ignores. Safe to run again: it only installs what is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# --run: only what ./run.sh needs (a local etcd); otherwise everything the tests need too.
apt_packages=(etcd-server etcd-client)
if [ "${1:-}" != "--run" ]; then
  apt_packages+=(unzip awscli tinyproxy systemd prometheus ceph-mon ceph-osd radosgw ceph-common uuid-runtime curl openssl)
  # Load for the suite's reliability runs: stress-ng --cpu 2 beside the tests (see README, Tests).
  apt_packages+=(stress-ng)
  # Packaging: Native AOT (clang, zlib1g-dev), dpkg-deb/dpkg-shlibdeps, lintian, man pages, strip.
  apt_packages+=(clang zlib1g-dev dpkg-dev lintian help2man binutils)
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-prereqs: apt-get install ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Debian's etcd-server package starts a system etcd on 2379 where an init system runs; the
# tests never use it (they start their own on free ports), so leave it alone.

npm_dir="$root/.tools/npm"
stamp="$npm_dir/.installed-$(sha256sum "$root/eng/npm/package.json" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "install-prereqs: npm install (s3rver, @bufbuild/buf) into .tools/npm"
  mkdir -p "$npm_dir"
  cp "$root/eng/npm/package.json" "$npm_dir/package.json"
  (cd "$npm_dir" && npm install --no-audit --no-fund --loglevel=error >/dev/null)
  rm -f "$npm_dir"/.installed-*
  touch "$stamp"
fi
