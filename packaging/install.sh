#!/usr/bin/env bash
# Installs NodeAgent from this tarball, for hosts without dpkg (on Debian/Ubuntu prefer the .debs).
#   ./install.sh [--root DIR] [--prefix PREFIX] [node-agent] [plan-server] [nodeagentctl]
# Programs go to PREFIX/bin (default /usr/local/bin; plan-server into PREFIX/lib/plan-server with a
# symlink), man pages and docs under PREFIX/share, units to /etc/systemd/system (their paths
# rewritten to PREFIX), the agent's default config to /etc/node-agent/config.yaml (0600) only if
# there is none. Nothing is enabled or started.
# With no program named, all three are installed (an etcd node needs only node-agent).
# Safe to run again (an upgrade): programs and units are replaced, an existing config is kept.
# --root DIR installs under DIR instead of / (for images and tests; no systemctl then).
set -euo pipefail
umask 022
src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
dest=""
prefix=/usr/local
programs=()
while (($#)); do
  case "$1" in
    --root) [ $# -ge 2 ] || { usage >&2; exit 2; }; dest="${2%/}"; shift 2 ;;
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 2; }; prefix="${2%/}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    node-agent|plan-server|nodeagentctl) programs+=("$1"); shift ;;
    *) echo "install.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
((${#programs[@]})) || programs=(node-agent plan-server nodeagentctl)
case "$prefix" in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 2 ;; esac

# Copies to a temporary name beside the target, then renames: a running program keeps its old file.
put() {  # mode source target
  install -d -m 0755 "$(dirname "$3")"
  install -m "$1" "$2" "$3.install-new"
  mv -f "$3.install-new" "$3"
}

unit() {  # name: the unit with /usr paths rewritten to the prefix
  install -d -m 0755 "$dest/etc/systemd/system"
  sed -e "s#/usr/bin/#$prefix/bin/#g" -e "s#/usr/share/doc/#$prefix/share/doc/#g" "$src/systemd/$1" \
    > "$dest/etc/systemd/system/$1.install-new"
  chmod 0644 "$dest/etc/systemd/system/$1.install-new"
  mv -f "$dest/etc/systemd/system/$1.install-new" "$dest/etc/systemd/system/$1"
}

docs() {  # program
  put 0644 "$src/README.md" "$dest$prefix/share/doc/$1/README.md"
  put 0644 "$src/docs/operator.md" "$dest$prefix/share/doc/$1/docs/operator.md"
  put 0644 "$src/copyright" "$dest$prefix/share/doc/$1/copyright"
  put 0644 "$src/man/$1.1.gz" "$dest$prefix/share/man/man1/$1.1.gz"
}

for program in "${programs[@]}"; do
  case "$program" in
    node-agent)
      put 0755 "$src/bin/node-agent" "$dest$prefix/bin/node-agent"
      unit node-agent.service
      install -d -m 0700 "$dest/etc/node-agent"
      if [ -e "$dest/etc/node-agent/config.yaml" ]; then
        echo "install.sh: kept $dest/etc/node-agent/config.yaml"
      else
        install -m 0600 "$src/etc/node-agent/config.yaml" "$dest/etc/node-agent/config.yaml"
      fi
      ;;
    plan-server)
      put 0755 "$src/lib/plan-server/plan-server" "$dest$prefix/lib/plan-server/plan-server"
      put 0644 "$src/lib/plan-server/libe_sqlite3.so" "$dest$prefix/lib/plan-server/libe_sqlite3.so"
      install -d -m 0755 "$dest$prefix/bin"
      ln -sfn ../lib/plan-server/plan-server "$dest$prefix/bin/plan-server"
      unit plan-server.service
      ;;
    nodeagentctl)
      put 0755 "$src/bin/nodeagentctl" "$dest$prefix/bin/nodeagentctl"
      ;;
  esac
  docs "$program"
  echo "install.sh: installed $program $(cat "$src/VERSION") into ${dest:-/}"
done

# systemctl only acts on the running system, and only when systemd is PID 1 (not in a container
# build or a chroot).
if [ -z "$dest" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  for program in "${programs[@]}"; do
    if [ "$program" != nodeagentctl ] && systemctl --quiet is-active "$program.service"; then
      echo "install.sh: $program is running the old binary: systemctl restart $program"
    fi
  done
fi
for program in "${programs[@]}"; do
  case "$program" in
    node-agent) echo "install.sh: next: set server, cluster and token in /etc/node-agent/config.yaml, then systemctl enable --now node-agent" ;;
    plan-server) echo "install.sh: next: systemctl enable --now plan-server" ;;
  esac
done
