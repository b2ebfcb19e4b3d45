#!/usr/bin/env bash
# Builds NodeAgent's packages into artifacts/packages/ and checks each .deb with lintian:
#   node-agent_<v>_<arch>.deb          the Native AOT agent, its unit, the default config (conffile, 0600)
#   plan-server_<v>_<arch>.deb         the plan server (self-contained single file + its SQLite library)
#   nodeagentctl_<v>_<arch>.deb        the operator CLI (self-contained single file)
#   nodeagent-<v>-linux-<arch>.tar.gz  the same programs, units and config, with install.sh
# The version defaults to <Version> in Directory.Build.props; the programs' --version prints the same.
# Installs what it needs if missing (dpkg-dev, lintian, help2man, binutils; eng/publish-aot.sh adds
# clang and zlib1g-dev).
# Safe to run again: every run starts from an empty staging dir and replaces the outputs.
#   packaging/build.sh [--version X.Y.Z[-PRERELEASE]] [--xz-level 0-9] [--no-publish] [--no-lintian]
# --xz-level is the .debs' xz level (dpkg-deb -z), 6 by default as Debian's; 1 packs the programs
#   five times faster into debs about 10% larger (the tests use it).
# --no-publish packages the programs the last run published (when working on the packaging itself).
# --no-lintian leaves lintian to the caller: the package tests (Lintian_EveryDeb_NoErrors) run it on
#   every .deb, so ./test.sh does not run it twice.
set -euo pipefail
umask 022
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
here="$root/packaging"
out="$root/artifacts/packages"
publish="$root/artifacts/publish"
stage="$out/.stage"
maintainer="NodeAgent maintainers <nodeagent-maintainers@example.org>"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
version=""
publish_programs=1
run_lintian=1
xz_level=6
while (($#)); do
  case "$1" in
    --xz-level) [ $# -ge 2 ] || { usage >&2; exit 2; }; xz_level="$2"; shift 2 ;;
    --xz-level=*) xz_level="${1#*=}"; shift ;;
    --version) [ $# -ge 2 ] || { usage >&2; exit 2; }; version="$2"; shift 2 ;;
    --version=*) version="${1#*=}"; shift ;;
    --no-publish) publish_programs=0; shift ;;
    --no-lintian) run_lintian=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ -z "$version" ]; then
  version="$(sed -n 's:.*<Version>\([^<]*\)</Version>.*:\1:p' "$root/Directory.Build.props" | head -n 1)"
  version="${version:-0.1.0}"
fi
if ! [[ "$xz_level" =~ ^[0-9]$ ]]; then
  echo "build.sh: --xz-level '$xz_level' is not 0-9" >&2
  exit 2
fi
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$ ]]; then
  echo "build.sh: version '$version' is not X.Y.Z or X.Y.Z-PRERELEASE" >&2
  exit 2
fi
# Debian sorts ~ before anything, so 1.2.0~rc.1 comes before 1.2.0 (as 1.2.0-rc.1 does in SemVer).
deb_version="${version/-/\~}"
deb_arch="$(dpkg --print-architecture)"
case "$deb_arch" in
  amd64) rid="linux-x64" ;;
  arm64) rid="linux-arm64" ;;
  *) echo "build.sh: no .NET runtime identifier for $deb_arch" >&2; exit 2 ;;
esac
# Reproducible timestamps: the commit's time, for files in the packages and the changelog entry.
SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}"
export SOURCE_DATE_EPOCH

missing=()
for p in dpkg-dev lintian help2man binutils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "build.sh: apt-get install ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Publish -------------------------------------------------------------------------------------
if ((publish_programs)); then
  echo "build.sh: $version for $rid: publishing node-agent (Native AOT: 1-3 minutes)"
  "$root/eng/publish-aot.sh" node-agent "-p:Version=$version"
  for program in plan-server:server/NodeAgent.Server nodeagentctl:server/NodeAgent.Ctl; do
    echo "build.sh: publishing ${program%%:*} (self-contained, single file)"
    rm -rf "${publish:?}/${program%%:*}"
    dotnet publish "$root/${program#*:}" -c Release -r "$rid" --self-contained -p:PublishSingleFile=true \
      "-p:Version=$version" -nologo -clp:ErrorsOnly -o "$publish/${program%%:*}"
  done
fi
for binary in "$root/artifacts/aot/node-agent" "$publish/plan-server/plan-server" "$publish/nodeagentctl/nodeagentctl"; do
  printed="$("$binary" --version)"
  if [ "${printed%%+*}" != "$version" ]; then
    echo "build.sh: $binary --version printed '$printed', not $version" >&2
    exit 1
  fi
done

# --- Staging helpers -----------------------------------------------------------------------------
rm -rf "$stage"
mkdir -p "$stage" "$out"

# /etc/node-agent/config.yaml: every key of `node-agent run --help` commented out, with its help
# text and, where that names a plain value, its default (not one naming a placeholder or a key).
default_config() {
  cat <<'HEAD'
# node-agent configuration (`node-agent run --config /etc/node-agent/config.yaml`, the unit's command).
# Keys are the long flag names of `node-agent run --help`; each is shown commented out, with its
# default where that is a plain value. NODEAGENT_<KEY> environment variables override this file, and
# flags override both. The file must stay mode 0600 (the agent refuses it otherwise): it holds the
# bootstrap token.
#
# Required: server, cluster and token. Then: systemctl enable --now node-agent

# The cluster's bootstrap token (`nodeagentctl cluster create -o yaml` shows it). Only in this file or
# NODEAGENT_TOKEN, never a flag.
#token:
HEAD
  "$1" run --help | awk '
    /^Options:/ { on = 1; next }
    on && match($0, /^ +--[a-z0-9-]+ <[^>]*> +/) {
      split(substr($0, RSTART, RLENGTH), head, " ")
      key = substr(head[1], 3)
      if (key == "config") next
      keys[++n] = key; help[key] = substr($0, RLENGTH + 1); known[key] = 1
    }
    END {
      for (i = 1; i <= n; i++) {
        key = keys[i]; value = ""
        if (match(help[key], /Default: [^ ]+\.$/)) {
          value = substr(help[key], RSTART + 9, RLENGTH - 10)
          if (value ~ /</ || value in known) value = ""
        }
        printf "\n# %s\n#%s:%s\n", help[key], key, (value == "" ? "" : " " value)
      }
    }'
}

# A native package (no Debian revision: the version is the programs' own) has changelog.gz, not
# changelog.Debian.gz (Debian policy 12.7).
changelog() {  # $1: package
  cat <<ENTRY
$1 ($deb_version) unstable; urgency=medium

  * NodeAgent $version. What it does: /usr/share/doc/$1/README.md.

 -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")
ENTRY
}

stage_docs() {  # $1: package, $2: its tree
  install -d -m 0755 "$2/usr/share/doc/$1"
  install -m 0644 "$here/copyright" "$2/usr/share/doc/$1/copyright"
  install -m 0644 "$root/README.md" "$2/usr/share/doc/$1/README.md"
  # The README links docs/operator.md: keep the link working where the README is installed.
  install -D -m 0644 "$root/docs/operator.md" "$2/usr/share/doc/$1/docs/operator.md"
  changelog "$1" | gzip -9n > "$2/usr/share/doc/$1/changelog.gz"
  chmod 0644 "$2/usr/share/doc/$1/changelog.gz"
  if [ -f "$here/deb/$1/lintian-overrides" ]; then
    install -D -m 0644 "$here/deb/$1/lintian-overrides" "$2/usr/share/lintian/overrides/$1"
  fi
}

# PROGRAM.1 from the program's --help and --version (help2man), pointing at each command's --help.
man_page() {  # $1: the program, $2: its one-line description, $3: the man page (.gz)
  local program; program="$(basename "$1")"
  install -d -m 0755 "$(dirname "$3")"
  cat > "$stage/$program.h2m" <<H2M
[SEE ALSO]
\fB$program\fR [\fICOMMAND\fR] \fB\-\-help\fR shows each command's options.
.br
The full documentation: /usr/share/doc/$program/README.md.
H2M
  help2man --no-info --no-discard-stderr --version-string="$version" --name="$2" --include="$stage/$program.h2m" "$1" \
    | gzip -9n > "$3"
  chmod 0644 "$3"
}

# The shared libraries the ELF files of a package tree link, as Depends. dpkg-shlibdeps wants a
# debian/control, and a DEBIAN dir in the tree to know it as a package's.
shlib_depends() {  # $1: the package tree, $2...: its ELF files
  local dir="$stage/shlibdeps"
  mkdir -p "$dir/debian" "$1/DEBIAN"
  printf 'Source: nodeagent\n\nPackage: nodeagent\nArchitecture: any\n' > "$dir/debian/control"
  (cd "$dir" && dpkg-shlibdeps --warnings=0 -O "${@:2}") | sed -n 's/^shlibs:Depends=//p'
}

# .NET opens libssl.so.3 with dlopen for TLS (no DT_NEEDED, so dpkg-shlibdeps cannot see it);
# Debian 13 and Ubuntu 24.04 call the package libssl3t64.
libssl="libssl3 | libssl3t64"

build_deb() {  # $1: package, $2: its Depends; the tree is $stage/$1
  local pkg="$1" dir="$stage/$1" deb="$out/${1}_${deb_version}_${deb_arch}.deb" control f
  install -d -m 0755 "$dir/DEBIAN"
  for f in postinst prerm postrm; do
    if [ -f "$here/deb/$pkg/$f" ]; then install -m 0755 "$here/deb/$pkg/$f" "$dir/DEBIAN/$f"; fi
  done
  if [ -f "$here/deb/$pkg/conffiles" ]; then install -m 0644 "$here/deb/$pkg/conffiles" "$dir/DEBIAN/conffiles"; fi
  # Conffiles (all under etc/) are left out, as dh_md5sums does: dpkg tracks their hashes itself.
  (cd "$dir" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\n' | LC_ALL=C sort \
    | xargs -r -d '\n' md5sum) > "$dir/DEBIAN/md5sums"
  chmod 0644 "$dir/DEBIAN/md5sums"
  control="$(< "$here/deb/$pkg/control")"
  control="${control//@VERSION@/$deb_version}"
  control="${control//@ARCH@/$deb_arch}"
  control="${control//@MAINTAINER@/$maintainer}"
  control="${control//@INSTALLED_SIZE@/$(du -s -k --apparent-size --exclude=DEBIAN "$dir" | cut -f1)}"
  control="${control//@DEPENDS@/$2}"
  printf '%s\n' "$control" > "$dir/DEBIAN/control"
  find "$dir" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  rm -f "$deb"
  dpkg-deb --root-owner-group -Zxz "-z$xz_level" --build "$dir" "$deb"
}

# --- node-agent ----------------------------------------------------------------------------------
dir="$stage/node-agent"
install -D -m 0755 "$root/artifacts/aot/node-agent" "$dir/usr/bin/node-agent"
install -D -m 0644 "$root/systemd/node-agent.service" "$dir/lib/systemd/system/node-agent.service"
# 0700 like the unit's ConfigurationDirectoryMode: systemd would make it so at the first start.
install -d -m 0700 "$dir/etc/node-agent"
default_config "$dir/usr/bin/node-agent" > "$dir/etc/node-agent/config.yaml"
chmod 0600 "$dir/etc/node-agent/config.yaml"
man_page "$dir/usr/bin/node-agent" "etcd snapshot and restore agent for K3s, RKE2 and etcd nodes" \
  "$dir/usr/share/man/man1/node-agent.1.gz"
stage_docs node-agent "$dir"
build_deb node-agent "$(shlib_depends "$dir" "$dir/usr/bin/node-agent"), $libssl"

# --- plan-server: the single file needs its SQLite library beside it, so both live in
# /usr/lib/plan-server (the apphost follows the /usr/bin symlink to find it). -----------------------
dir="$stage/plan-server"
install -D -m 0755 "$publish/plan-server/plan-server" "$dir/usr/lib/plan-server/plan-server"
install -m 0644 "$publish/plan-server/libe_sqlite3.so" "$dir/usr/lib/plan-server/libe_sqlite3.so"
# As dh_strip does for a shared library. (The single files are stripped already, and must not be:
# their bundle is appended to the ELF file.)
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$dir/usr/lib/plan-server/libe_sqlite3.so"
install -d -m 0755 "$dir/usr/bin"
ln -s ../lib/plan-server/plan-server "$dir/usr/bin/plan-server"
install -D -m 0644 "$root/systemd/plan-server.service" "$dir/lib/systemd/system/plan-server.service"
man_page "$dir/usr/lib/plan-server/plan-server" "NodeAgent plan server for etcd snapshots and restores" \
  "$dir/usr/share/man/man1/plan-server.1.gz"
stage_docs plan-server "$dir"
build_deb plan-server "$(shlib_depends "$dir" "$dir/usr/lib/plan-server/plan-server" "$dir/usr/lib/plan-server/libe_sqlite3.so"), $libssl"

# --- nodeagentctl --------------------------------------------------------------------------------
dir="$stage/nodeagentctl"
install -D -m 0755 "$publish/nodeagentctl/nodeagentctl" "$dir/usr/bin/nodeagentctl"
man_page "$dir/usr/bin/nodeagentctl" "command-line client of the NodeAgent plan server" \
  "$dir/usr/share/man/man1/nodeagentctl.1.gz"
stage_docs nodeagentctl "$dir"
build_deb nodeagentctl "$(shlib_depends "$dir" "$dir/usr/bin/nodeagentctl"), $libssl"

# --- Tarball: the same files, laid out for install.sh ----------------------------------------------
name="nodeagent-$version-linux-$deb_arch"
dir="$stage/$name"
install -D -m 0755 "$here/install.sh" "$dir/install.sh"
install -D -m 0755 "$stage/node-agent/usr/bin/node-agent" "$dir/bin/node-agent"
install -D -m 0755 "$stage/nodeagentctl/usr/bin/nodeagentctl" "$dir/bin/nodeagentctl"
install -D -m 0755 "$stage/plan-server/usr/lib/plan-server/plan-server" "$dir/lib/plan-server/plan-server"
install -m 0644 "$stage/plan-server/usr/lib/plan-server/libe_sqlite3.so" "$dir/lib/plan-server/libe_sqlite3.so"
install -D -m 0644 "$root/systemd/node-agent.service" "$dir/systemd/node-agent.service"
install -m 0644 "$root/systemd/plan-server.service" "$dir/systemd/plan-server.service"
install -D -m 0600 "$stage/node-agent/etc/node-agent/config.yaml" "$dir/etc/node-agent/config.yaml"
for program in node-agent plan-server nodeagentctl; do
  install -D -m 0644 "$stage/$program/usr/share/man/man1/$program.1.gz" "$dir/man/$program.1.gz"
done
install -m 0644 "$root/README.md" "$dir/README.md"
install -D -m 0644 "$root/docs/operator.md" "$dir/docs/operator.md"
install -m 0644 "$here/README.md" "$dir/INSTALL.md"
install -m 0644 "$here/copyright" "$dir/copyright"
printf '%s\n' "$version" > "$dir/VERSION"
tarball="$out/$name.tar.gz"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner -C "$stage" -cf - "$name" \
  | gzip -n > "$tarball.part"
mv -f "$tarball.part" "$tarball"

# --- Check ---------------------------------------------------------------------------------------
status=0
if ((run_lintian)); then
  for pkg in node-agent plan-server nodeagentctl; do
    echo "build.sh: lintian ${pkg}_${deb_version}_${deb_arch}.deb"
    lintian --fail-on error "$out/${pkg}_${deb_version}_${deb_arch}.deb" || status=1
  done
fi
rm -rf "$stage"
if [ "$status" -ne 0 ]; then
  echo "build.sh: lintian found errors" >&2
  exit 1
fi
echo "build.sh: done:"
(cd "$out" && ls -l -- *_"${deb_version}_${deb_arch}.deb" "$name.tar.gz" | awk '{ printf "  %-45s %6.1f MiB\n", $NF, $5 / 1048576 }')
