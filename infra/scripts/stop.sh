#!/usr/bin/env bash
# Stops everything `npm start` started: services first (they flush on SIGTERM), then the stores.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="$ROOT/.run"
# Monitoring first, so that stopping the services raises no alert.
for name in prometheus alertmanager relay aggregator dashboard; do
  pidfile="$RUN_DIR/$name.pid"
  [[ -f "$pidfile" ]] || continue
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "$name did not stop in 10 s; killing"; kill -KILL "$pid"; }
  fi
  rm -f "$pidfile"
done
if command -v podman >/dev/null; then
  podman stop -t 10 parsl-usage-kafka parsl-usage-clickhouse >/dev/null 2>&1
  podman rm -f parsl-usage-kafka parsl-usage-clickhouse >/dev/null 2>&1
fi
# The podman API service was started by setup-host.sh; stop it too unless other containers still use it.
if [[ -f /run/parsl-usage-podman.pid ]] && [[ -z "$(podman ps -q 2>/dev/null)" ]]; then
  kill -TERM "$(cat /run/parsl-usage-podman.pid)" 2>/dev/null
  rm -f /run/parsl-usage-podman.pid
fi
echo "stopped (data kept in podman volumes parsl-usage-kafka-data and parsl-usage-clickhouse-data; 'npm run reset' removes them)"
