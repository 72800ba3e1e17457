#!/usr/bin/env bash
# README command (A): brings the whole pipeline up on this machine.
# Kafka and ClickHouse run as podman containers from the locally built images; the relay
# and the aggregator run as node processes. Everything is idempotent: running it again
# restarts nothing that is already up.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/infra/scripts/setup-host.sh"
# The runtime only: the test-only venvs and tools install under `npm test` (setup_all).
setup_runtime

KAFKA_PORT="${KAFKA_PORT:-9092}"
CLICKHOUSE_PORT="${CLICKHOUSE_PORT:-8123}"
RELAY_UDP_HOST="${RELAY_UDP_HOST:-127.0.0.1}"
RELAY_UDP_PORT="${RELAY_UDP_PORT:-50077}"
RUN_DIR="$ROOT/.run"
mkdir -p "$RUN_DIR/logs"
# The relay asks for an 8 MiB receive buffer to ride out bursts; the kernel caps it at rmem_max.
if [[ "$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo 0)" -lt 8388608 ]]; then
  sysctl -qw net.core.rmem_max=8388608 2>/dev/null || log "could not raise net.core.rmem_max; the relay gets a smaller UDP buffer"
fi

container_up() { [[ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" == "true" ]]; }

if ! container_up parsl-usage-kafka; then
  podman rm -f parsl-usage-kafka >/dev/null 2>&1 || true
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT"
  podman run -d --name parsl-usage-kafka -p "127.0.0.1:$KAFKA_PORT:$KAFKA_PORT" \
    -v parsl-usage-kafka-data:/var/lib/kafka/data \
    -e KAFKA_LISTENERS="PLAINTEXT://:$KAFKA_PORT,CONTROLLER://:9093" \
    -e KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://127.0.0.1:$KAFKA_PORT" \
    localhost/parsl-usage/kafka:3.9.1 >/dev/null
fi
if ! container_up parsl-usage-clickhouse; then
  podman rm -f parsl-usage-clickhouse >/dev/null 2>&1 || true
  log "starting ClickHouse on 127.0.0.1:$CLICKHOUSE_PORT"
  # Users' passwords (docs/SECURITY.md): those set in this shell are passed on; the others are the
  # image entrypoint's local development defaults (<user>-dev-password).
  ch_env=()
  for v in CLICKHOUSE_{ADMIN,INGEST,ANALYST,DASHBOARD}_{PASSWORD,NETWORK} CLICKHOUSE_REQUIRE_PASSWORDS; do
    if [[ -n "${!v:-}" ]]; then ch_env+=(-e "$v"); fi
  done
  podman run -d --name parsl-usage-clickhouse -p "127.0.0.1:$CLICKHOUSE_PORT:8123" \
    -v parsl-usage-clickhouse-data:/var/lib/clickhouse "${ch_env[@]}" \
    localhost/parsl-usage/clickhouse:18.16 >/dev/null
fi

wait_for() {
  local what=$1; shift
  for _ in $(seq 1 120); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$what did not become ready"; exit 1
}
wait_for ClickHouse curl -sf "http://127.0.0.1:$CLICKHOUSE_PORT/ping"
wait_for Kafka bash -c "podman logs parsl-usage-kafka 2>&1 | grep -q 'Kafka Server started'"

export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT" CLICKHOUSE_URL="http://127.0.0.1:$CLICKHOUSE_PORT"
log "creating topics and applying migrations"
CLICKHOUSE_USER=admin CLICKHOUSE_PASSWORD="${CLICKHOUSE_ADMIN_PASSWORD:-admin-dev-password}" \
  node services/ops/dist/migrate-cli.js >"$RUN_DIR/logs/migrate.log" 2>&1 || { cat "$RUN_DIR/logs/migrate.log"; exit 1; }

start_service() {
  local name=$1 entry=$2
  local pidfile="$RUN_DIR/$name.pid"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return; fi
  log "starting $name (supervised: restarted with backoff if it exits)"
  nohup bash "$ROOT/infra/scripts/supervise.sh" "$name" node "$entry" >>"$RUN_DIR/logs/$name.log" 2>&1 &
  echo $! >"$pidfile"
}
RELAY_UDP_HOST="$RELAY_UDP_HOST" RELAY_UDP_PORT="$RELAY_UDP_PORT" RELAY_SPOOL_DIR="$RUN_DIR/spool" \
  start_service relay services/relay/dist/main.js
# AGGREGATORS=0 leaves the aggregator stopped: a restore (docs/OPERATIONS.md, "Restore on the
# local stack") needs ClickHouse up and the consumer group idle. `npm start` again starts it.
if [[ "${AGGREGATORS:-1}" != 0 ]]; then
  CLICKHOUSE_USER=ingest CLICKHOUSE_PASSWORD="${CLICKHOUSE_INGEST_PASSWORD:-ingest-dev-password}" \
    start_service aggregator services/aggregator/dist/main.js
fi
DASH_CLICKHOUSE_USER=dashboard DASH_CLICKHOUSE_PASSWORD="${CLICKHOUSE_DASHBOARD_PASSWORD:-dashboard-dev-password}" \
  DASH_HTTP_PORT="${DASH_HTTP_PORT:-8080}" start_service dashboard services/dashboard/dist/main.js

wait_for "relay health" curl -sf "http://127.0.0.1:${RELAY_HTTP_PORT:-9464}/healthz"
if [[ "${AGGREGATORS:-1}" != 0 ]]; then
  wait_for "aggregator health" curl -sf "http://127.0.0.1:${AGG_HTTP_PORT:-9465}/healthz"
fi
wait_for "dashboard health" curl -sf "http://127.0.0.1:${DASH_HTTP_PORT:-8080}/healthz"

# Monitoring beside the pipeline (README, "Monitoring"): Prometheus scrapes the three services with
# infra/prometheus's rules, and Alertmanager sends what fires to the operator's webhook
# (ALERT_WEBHOOK_URL), or to the receivers of their own file (ALERTMANAGER_CONFIG, e.g. e-mail:
# infra/alertmanager/alertmanager-smtp.example.yml). MONITORING=0 leaves both out.
PROMETHEUS_PORT="${PROMETHEUS_PORT:-9090}"
ALERTMANAGER_PORT="${ALERTMANAGER_PORT:-9093}"
MON_DIR="$RUN_DIR/monitoring"
start_monitor() {
  local name=$1; shift
  local pidfile="$RUN_DIR/$name.pid"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return; fi
  log "starting $name (supervised)"
  nohup bash "$ROOT/infra/scripts/supervise.sh" "$name" "$@" >>"$RUN_DIR/logs/$name.log" 2>&1 &
  echo $! >"$pidfile"
}
if [[ "${MONITORING:-1}" != 0 ]]; then
  mkdir -p "$MON_DIR/prometheus-data" "$MON_DIR/alertmanager-data"
  if [[ -n "${ALERTMANAGER_CONFIG:-}" ]]; then
    cp "$ALERTMANAGER_CONFIG" "$MON_DIR/alertmanager.yml"
  elif [[ -n "${ALERT_WEBHOOK_URL:-}" ]]; then
    sed "s|__ALERT_WEBHOOK_URL__|$ALERT_WEBHOOK_URL|" "$ROOT/infra/alertmanager/alertmanager.yml" >"$MON_DIR/alertmanager.yml"
  else
    # No receiver configured: alerts are still listed by Alertmanager's page, but sent nowhere.
    log "ALERT_WEBHOOK_URL is not set: alerts show on http://127.0.0.1:$ALERTMANAGER_PORT/ but reach no one"
    sed '/webhook_configs:/,/^ *send_resolved:/d' "$ROOT/infra/alertmanager/alertmanager.yml" >"$MON_DIR/alertmanager.yml"
  fi
  amtool check-config "$MON_DIR/alertmanager.yml" >/dev/null || { amtool check-config "$MON_DIR/alertmanager.yml"; exit 1; }
  # The shipped configuration with this run's ports and the rules by absolute path.
  sed -e "s|127.0.0.1:9464|127.0.0.1:${RELAY_HTTP_PORT:-9464}|" -e "s|127.0.0.1:9465|127.0.0.1:${AGG_HTTP_PORT:-9465}|" \
    -e "s|127.0.0.1:8080|127.0.0.1:${DASH_HTTP_PORT:-8080}|" -e "s|127.0.0.1:9093|127.0.0.1:$ALERTMANAGER_PORT|" \
    -e "s|^  - \(.*\.yml\)$|  - $ROOT/infra/prometheus/\1|" \
    "$ROOT/infra/prometheus/prometheus.yml" >"$MON_DIR/prometheus.yml"
  start_monitor alertmanager prometheus-alertmanager --config.file="$MON_DIR/alertmanager.yml" \
    --storage.path="$MON_DIR/alertmanager-data" --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address=
  start_monitor prometheus prometheus --config.file="$MON_DIR/prometheus.yml" \
    --storage.tsdb.path="$MON_DIR/prometheus-data" --web.listen-address="127.0.0.1:$PROMETHEUS_PORT"
  wait_for "Alertmanager" curl -sf "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready"
  wait_for "Prometheus" curl -sf "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
fi

cat <<MSG

Parsl usage pipeline is up.
  Send datagrams to   udp://$RELAY_UDP_HOST:$RELAY_UDP_PORT
      printf '1{"correlator":"11111111-2222-3333-4444-555555555555","parsl_v":"2025.03.17","python_v":"3.12.2","platform.system":"Linux","tracking_level":1}' > /dev/udp/$RELAY_UDP_HOST/$RELAY_UDP_PORT
  Query ClickHouse    curl 'http://127.0.0.1:$CLICKHOUSE_PORT/?user=analyst&password=analyst-dev-password' --data-binary 'SELECT workflow_id, status, parsl_version FROM parsl_usage.workflows'
  Dashboard           http://127.0.0.1:${DASH_HTTP_PORT:-8080}/
  Kafka               127.0.0.1:$KAFKA_PORT (topics parsl.usage.raw, parsl.usage.rejected)
  Health              http://127.0.0.1:${RELAY_HTTP_PORT:-9464}/healthz  http://127.0.0.1:${AGG_HTTP_PORT:-9465}/healthz  (/metrics beside them)
  Prometheus          http://127.0.0.1:$PROMETHEUS_PORT/alerts  (rules: infra/prometheus/alerts.yml)
  Alertmanager        http://127.0.0.1:$ALERTMANAGER_PORT/  (receiver: ${ALERT_WEBHOOK_URL:-${ALERTMANAGER_CONFIG:-none; set ALERT_WEBHOOK_URL}})
  Grafana dashboard   import infra/grafana/pipeline-dashboard.json, data source http://127.0.0.1:$PROMETHEUS_PORT
  Logs                $RUN_DIR/logs/
  Stop                npm stop
MSG
