#!/usr/bin/env bash
# Aggregator throughput on the local cluster (npm run cluster:up, relays started with
# RELAY_RATE_PER_SOURCE above RATE): stops both aggregators, sends N datagrams (N new workflows),
# waits until the raw topic holds them, starts AGGREGATORS (1 or 2) aggregators in the same
# consumer group, and times until both replicas show every workflow. Leaves both running.
#   AGGREGATORS=1 N=20000 RATE=2000 bash bench/cluster/drain.sh
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/infra/cluster/ports.sh"
AGGREGATORS=${AGGREGATORS:-1}
N=${N:-20000}
RATE=${RATE:-2000}
RUN_DIR="$ROOT/.run/cluster"
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
for i in 1 2; do
  pidfile="$RUN_DIR/aggregator-$i.pid"
  [[ -f "$pidfile" ]] && kill -TERM "$(cat "$pidfile")" 2>/dev/null
  for _ in $(seq 1 150); do kill -0 "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || break; sleep 0.2; done
  rm -f "$pidfile"
done
want=$(( $(raw_total) + N ))
node "$ROOT/bench/cluster/send.mjs" "$N" "$RATE" "$RELAY_SHARED_PORT" >/dev/null
for _ in $(seq 1 120); do [[ $(raw_total) -ge $want ]] && break; sleep 1; done
topic=$(raw_total)
echo "raw topic holds $topic messages (wanted $want); starting $AGGREGATORS aggregator(s)"
t0=$(now_ms)
for i in $(seq 1 "$AGGREGATORS"); do
  KAFKA_BROKERS="$CLUSTER_BROKERS" CLICKHOUSE_URL="$(ch_url "$i")" AGG_HTTP_PORT="$((AGG_HTTP_BASE + i))" \
    KAFKA_CLIENT_ID="parsl-usage-aggregator-$i" \
    CLICKHOUSE_USER=ingest CLICKHOUSE_PASSWORD="${CLICKHOUSE_INGEST_PASSWORD:-ingest-dev-password}" \
    nohup bash "$ROOT/infra/scripts/supervise.sh" "aggregator-$i" node "$ROOT/services/aggregator/dist/main.js" \
    >>"$RUN_DIR/logs/aggregator-$i.log" 2>&1 &
  echo $! >"$RUN_DIR/aggregator-$i.pid"
done
done_ms=()
for r in 1 2; do
  for _ in $(seq 1 1200); do
    [[ "$(Q "$r" "SELECT uniqExact(kafka_partition, kafka_offset) FROM parsl_usage.events")" -ge "$topic" ]] && break
    sleep 0.25
  done
  done_ms[r]=$(( $(now_ms) - t0 ))
done
echo "aggregators=$AGGREGATORS messages=$N replica1_ms=${done_ms[1]} replica2_ms=${done_ms[2]}" \
  "events_per_s=$(( N * 1000 / done_ms[1] ))"
echo "replica 1: $(Q 1 'SELECT count() FROM parsl_usage.workflows') workflows; replica 2: $(Q 2 'SELECT count() FROM parsl_usage.workflows')"
# The second aggregator again, if only one ran: the cluster is left as up.sh makes it.
if [[ $AGGREGATORS == 1 ]]; then
  KAFKA_BROKERS="$CLUSTER_BROKERS" CLICKHOUSE_URL="$(ch_url 2)" AGG_HTTP_PORT="$((AGG_HTTP_BASE + 2))" \
    KAFKA_CLIENT_ID=parsl-usage-aggregator-2 \
    CLICKHOUSE_USER=ingest CLICKHOUSE_PASSWORD="${CLICKHOUSE_INGEST_PASSWORD:-ingest-dev-password}" \
    nohup bash "$ROOT/infra/scripts/supervise.sh" aggregator-2 node "$ROOT/services/aggregator/dist/main.js" \
    >>"$RUN_DIR/logs/aggregator-2.log" 2>&1 &
  echo $! >"$RUN_DIR/aggregator-2.pid"
fi
