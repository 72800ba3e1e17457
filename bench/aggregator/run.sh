#!/usr/bin/env bash
# Starts Kafka and ClickHouse in one podman pod (loopback ports only; inside the pod ClickHouse
# reaches the broker at 127.0.0.1, which its Kafka engine needs), builds, runs the benchmark and
# removes the pod on exit, also on failure. Usage: bash bench/aggregator/run.sh  (env: see run.ts)
set -euo pipefail
cd "$(dirname "$0")/../.."
KP=${BENCH_KAFKA_PORT:-29092}
CP=${BENCH_CLICKHOUSE_PORT:-28123}
POD=${BENCH_POD:-bench-agg}
cleanup() { podman pod rm -f -t 5 "$POD" >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
cleanup
podman pod create --name "$POD" -p "127.0.0.1:$KP:$KP" -p "127.0.0.1:$CP:8123" >/dev/null
podman run -d --pod "$POD" --name "$POD-kafka" \
  -e KAFKA_LISTENERS="PLAINTEXT://:$KP,CONTROLLER://:9093" \
  -e KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://127.0.0.1:$KP" \
  localhost/parsl-usage/kafka:3.9.1 >/dev/null
# BENCH_CH_PODMAN_ARGS: extra podman arguments for the ClickHouse container (e.g. a -v of a config override)
# shellcheck disable=SC2086
podman run -d --pod "$POD" --name "$POD-ch" ${BENCH_CH_PODMAN_ARGS:-} localhost/parsl-usage/clickhouse:18.16 >/dev/null
npx tsc -b schemas services/relay services/aggregator
for i in $(seq 1 120); do  # bounded: 120 x 1 s
  if curl -sf "http://127.0.0.1:$CP/ping" >/dev/null && podman logs "$POD-kafka" 2>&1 | grep -q 'Kafka Server started'; then break; fi
  sleep 1
done
BENCH_KAFKA="127.0.0.1:$KP" BENCH_CLICKHOUSE="http://127.0.0.1:$CP" BENCH_CH_CONTAINER="$POD-ch" \
  node --import tsx bench/aggregator/run.ts
