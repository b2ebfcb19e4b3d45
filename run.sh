#!/usr/bin/env bash
# The main job, on the embedded defaults: a local etcd and the plan server, until Ctrl-C.
# Everything lives under .run/ (git ignores it). What it starts grows with the project: see the
# README's "What exists" list.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

etcd_port="${NODEAGENT_RUN_ETCD_PORT:-2379}"
server_listen="${NODEAGENT_RUN_LISTEN:-127.0.0.1:9180}"
state="$root/.run"

"$root/eng/install-prereqs.sh" --run
dotnet build NodeAgent.sln -c Release -nologo -clp:ErrorsOnly -v:q >/dev/null

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$etcd_port" "$((etcd_port + 1))" "${server_listen##*:}"; do
  if port_busy "$p"; then
    echo "run.sh: port $p on 127.0.0.1 is in use; stop what uses it or set NODEAGENT_RUN_ETCD_PORT / NODEAGENT_RUN_LISTEN" >&2
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
  echo "run.sh: stopped"
}
on_signal() { stop; exit 0; }
trap on_signal INT TERM
trap stop EXIT

etcd --name local --data-dir "$state/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
  --initial-cluster "local=http://127.0.0.1:$((etcd_port + 1))" --logger zap --log-outputs "$state/etcd.log" &
pids+=($!)

"$root/artifacts/bin/plan-server" --data-dir "$state/plan-server" --listen "$server_listen" > "$state/plan-server.log" 2>&1 &
pids+=($!)

for _ in $(seq 1 100); do
  if ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$etcd_port" endpoint health >/dev/null 2>&1 && port_busy "${server_listen##*:}"; then
    break
  fi
  sleep 0.1
done

cat <<MSG
NodeAgent is running (Ctrl-C stops everything):
  etcd          http://127.0.0.1:$etcd_port          data: $state/etcd
  plan server   https://$server_listen     data: $state/plan-server, log: $state/plan-server.log
                CA: $state/plan-server/tls/ca.crt   admin token: $state/plan-server/admin-token
Try:
  .tools/npm/node_modules/.bin/buf curl --protocol grpc --reflect --cacert .run/plan-server/tls/ca.crt \\
    -H @<(echo "Authorization: Bearer \$(cat .run/plan-server/admin-token)") \\
    --data '{}' https://$server_listen/nodeagent.v1.ClusterService/ListClusters
  ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:$etcd_port endpoint status -w table
MSG

wait -n "${pids[@]}" || true
echo "run.sh: a process exited on its own; see the logs in $state" >&2
exit 1
