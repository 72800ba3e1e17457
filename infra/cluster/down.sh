#!/usr/bin/env bash
# npm run cluster:down: stops what infra/cluster/up.sh started (services first, they flush on
# SIGTERM), removes the UDP rule and the containers. CLUSTER_RESET=1 also removes the volumes.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="$ROOT/.run/cluster"
for pidfile in "$RUN_DIR"/*.pid; do
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "$(basename "$pidfile" .pid) did not stop in 10 s; killing"; kill -KILL "$pid"; }
  fi
  rm -f "$pidfile"
done
nft delete table inet parsl_cluster 2>/dev/null
names=(parsl-cluster-zookeeper parsl-cluster-zookeeper-{1,2,3} parsl-cluster-kafka-{1,2,3} parsl-cluster-clickhouse-{1,2})
# --ignore: the former single ZooKeeper (parsl-cluster-zookeeper) is gone on most hosts, and one
# missing name would otherwise make podman stop none of them.
podman stop --ignore -t 10 "${names[@]}" >/dev/null 2>&1
podman rm --ignore -f "${names[@]}" >/dev/null 2>&1
if [[ "${CLUSTER_RESET:-0}" == 1 ]]; then
  podman volume rm -f parsl-cluster-zookeeper{,-2,-3} parsl-cluster-kafka-{1,2,3} parsl-cluster-clickhouse-{1,2} >/dev/null
  rm -rf "$RUN_DIR"
fi
echo "cluster stopped"
