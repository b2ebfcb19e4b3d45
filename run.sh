#!/usr/bin/env bash
# The main job, on the embedded defaults: a local etcd, the plan server and one agent beside the
# etcd; a cluster "local" with the local target; a one-time snapshot through the plan server; the
# catalog printed; then it runs until Ctrl-C, which stops everything. State lives under .run/
# (git ignores it) and is reused by the next run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

etcd_port="${NODEAGENT_RUN_ETCD_PORT:-2379}"
server_listen="${NODEAGENT_RUN_LISTEN:-127.0.0.1:9180}"
metrics_listen="${NODEAGENT_RUN_METRICS_LISTEN:-127.0.0.1:9181}"
state="${NODEAGENT_RUN_STATE:-$root/.run}"

# NODEAGENT_RUN_NO_BUILD=1: the caller has built and installed already (the test of this script does).
if [ "${NODEAGENT_RUN_NO_BUILD:-}" != "1" ]; then
  "$root/eng/install-prereqs.sh" --run
  dotnet build NodeAgent.sln -c Release -nologo -clp:ErrorsOnly -v:q >/dev/null
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$etcd_port" "$((etcd_port + 1))" "${server_listen##*:}" "${metrics_listen##*:}"; do
  if port_busy "$p"; then
    echo "run.sh: port $p on 127.0.0.1 is in use; stop what uses it or set NODEAGENT_RUN_ETCD_PORT / NODEAGENT_RUN_LISTEN / NODEAGENT_RUN_METRICS_LISTEN" >&2
    exit 1
  fi
done

mkdir -p "$state"
chmod 0700 "$state"
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "run.sh: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  # etcd last, through the same script the agent uses (it is not a child of this shell).
  [ -f "$state/etcd-ctl/stop.sh" ] && sh "$state/etcd-ctl/stop.sh"
  echo "run.sh: stopped"
}
on_signal() { stop; exit 0; }
trap on_signal INT TERM
trap stop EXIT

# etcd runs from two small scripts, as a service would, so the agent can stop and start it for a restore.
mkdir -p "$state/etcd-ctl"
cat > "$state/etcd-ctl/start.sh" <<START
#!/bin/sh
# Starts the local etcd member in the background and records its pid.
if [ -f "$state/etcd-ctl/etcd.pid" ] && kill -0 "\$(cat "$state/etcd-ctl/etcd.pid")" 2>/dev/null; then exit 0; fi
setsid etcd --name local --data-dir "$state/etcd" \\
  --listen-client-urls http://127.0.0.1:$etcd_port --advertise-client-urls http://127.0.0.1:$etcd_port \\
  --listen-peer-urls http://127.0.0.1:$((etcd_port + 1)) --initial-advertise-peer-urls http://127.0.0.1:$((etcd_port + 1)) \\
  --initial-cluster local=http://127.0.0.1:$((etcd_port + 1)) --logger zap --log-outputs "$state/etcd.log" </dev/null >/dev/null 2>&1 &
echo \$! > "$state/etcd-ctl/etcd.pid"
START
cat > "$state/etcd-ctl/stop.sh" <<STOP
#!/bin/sh
# Stops the local etcd member and waits until it is gone.
[ -f "$state/etcd-ctl/etcd.pid" ] || exit 0
p=\$(cat "$state/etcd-ctl/etcd.pid")
if kill "\$p" 2>/dev/null; then
  if ! timeout 20 tail --pid="\$p" -f /dev/null; then kill -9 "\$p" 2>/dev/null; fi
fi
rm -f "$state/etcd-ctl/etcd.pid"
STOP
sh "$state/etcd-ctl/start.sh"

"$root/artifacts/bin/plan-server" --data-dir "$state/plan-server" --listen "$server_listen" --metrics-listen "$metrics_listen" > "$state/plan-server.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  if ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$etcd_port" endpoint health >/dev/null 2>&1 && port_busy "${server_listen##*:}"; then
    break
  fi
  sleep 0.1
done

# nodeagentctl reads the server, the admin token and the CA from the environment (never argv).
export NODEAGENT_SERVER="https://$server_listen"
export NODEAGENT_CA_FILE="$state/plan-server/tls/ca.crt"
NODEAGENT_TOKEN="$(cat "$state/plan-server/admin-token")"
export NODEAGENT_TOKEN
ctl="$root/artifacts/bin/nodeagentctl"
cluster_json="$("$ctl" cluster get local -o json 2>/dev/null || "$ctl" cluster create local --runtime etcd -o json)"
bootstrap="$(printf '%s' "$cluster_json" | grep -o '"bootstrapToken": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/')"

# One agent beside the local etcd, on the local target (<data-dir>/server/db/snapshots).
mkdir -p "$state/agent"
chmod 0700 "$state/agent"
(
  umask 077
  cat > "$state/agent/config.yaml" <<CONFIG
server: "https://$server_listen"
server-ca: "$state/plan-server/tls/ca.crt"
cluster: local
token: "$bootstrap"
node-name: local
runtime: etcd
data-dir: "$state/agent/data"
state-dir: "$state/agent/state"
etcd-endpoints: "http://127.0.0.1:$etcd_port"
etcd-data-dir: "$state/etcd"
etcd-name: local
etcd-initial-cluster: "local=http://127.0.0.1:$((etcd_port + 1))"
etcd-stop-command: "sh $state/etcd-ctl/stop.sh"
etcd-start-command: "sh $state/etcd-ctl/start.sh"
CONFIG
)
# Without nodeagentctl's variables: NODEAGENT_<KEY> would override the agent's config keys (token, server).
env -u NODEAGENT_TOKEN -u NODEAGENT_SERVER -u NODEAGENT_CA_FILE \
  "$root/artifacts/bin/node-agent" run --config "$state/agent/config.yaml" > "$state/agent.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 300); do
  if "$ctl" node ls --cluster local -o json 2>/dev/null | grep -q '"appliedChecksum": *"[0-9a-f]'; then break; fi
  sleep 0.1
done
echo "run.sh: taking a one-time snapshot through the plan server"
"$ctl" snapshot save --cluster local --wait || echo "run.sh: the snapshot did not finish; see $state/agent.log" >&2
"$ctl" snapshot ls --cluster local

cat <<MSG

NodeAgent is running (Ctrl-C stops everything):
  etcd          http://127.0.0.1:$etcd_port   data: $state/etcd (run by $state/etcd-ctl/start.sh)
  plan server   https://$server_listen   data: $state/plan-server, log: $state/plan-server.log
                metrics http://$metrics_listen/metrics, health http://$metrics_listen/healthz
  agent         node "local" of cluster "local"   config: $state/agent/config.yaml, log: $state/agent.log
Try, in another shell:
  export NODEAGENT_SERVER=https://$server_listen NODEAGENT_CA_FILE=$state/plan-server/tls/ca.crt
  export NODEAGENT_TOKEN=\$(cat $state/plan-server/admin-token)
  artifacts/bin/nodeagentctl snapshot ls --cluster local
  artifacts/bin/nodeagentctl restore <NAME from ls> --cluster local --restore-mode none --wait --yes
  (umask 077; { printf 'Authorization: Bearer '; cat $state/plan-server/admin-token; } > $state/admin-header)
  .tools/npm/node_modules/.bin/buf curl --protocol grpc --reflect --cacert $state/plan-server/tls/ca.crt \\
    -H @$state/admin-header --data '{"cluster":"local"}' https://$server_listen/nodeagent.v1.SnapshotService/ListSnapshots
MSG

wait -n "${pids[@]}" || true
echo "run.sh: a process exited on its own; see the logs in $state" >&2
exit 1
