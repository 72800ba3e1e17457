#!/usr/bin/env bash
# npm run cluster:up: the pipeline as a small cluster on this one machine (SCALING.md):
#   3 Kafka brokers     KRaft quorum of three (combined broker+controller), topics RF 3, min.insync.replicas 2
#   3 ZooKeeper         an ensemble (quorum of two) holding ClickHouse 18.16's replication metadata
#   2 ClickHouse        replicas of one shard, every table Replicated* (migrations in the cluster shape)
#   2 relays            behind one UDP address: an nftables rule spreads datagrams over both
#   2 aggregators       one consumer group; aggregator i writes to replica i
#   2 dashboards        one per replica (either replica answers every query)
# Everything on the host network on ports apart from `npm start`'s, so both can run at once.
# Idempotent: what is already up is left alone. npm run cluster:down stops it all.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/infra/scripts/setup-host.sh"
setup_containers
source "$ROOT/infra/cluster/ports.sh"
RUN_DIR="$ROOT/.run/cluster"
mkdir -p "$RUN_DIR/logs"

container_up() { [[ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" == "true" ]]; }
run_container() {
  local name=$1; shift
  container_up "$name" && return
  podman rm -f "$name" >/dev/null 2>&1 || true
  log "starting $name"
  podman run -d --name "$name" --network host "$@" >/dev/null
}

wait_for() {
  local what=$1; shift
  for _ in $(seq 1 240); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$what did not become ready"; exit 1
}
# A member answers `srvr` (allowed by zoo.cfg's whitelist) with `Mode: leader|follower` once it is
# part of a quorum, and "not currently serving requests" before.
zk_serving() { (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && grep -q '^Mode:' <&3); }

# Three members from Debian's package (the image of test/cluster-migrations.test.ts), each with its
# own client, peer and election port on the host network. Member 1 keeps the volume of the single
# ZooKeeper this cluster had before, so that existing replicas find their metadata (the member
# with the newest data leads, and the other two copy it).
podman rm -f parsl-cluster-zookeeper >/dev/null 2>&1 || true # the former single member
zk_servers=""
for i in 1 2 3; do zk_servers+="${zk_servers:+ }server.$i=127.0.0.1:$((ZK_PEER_BASE + i)):$((ZK_ELECTION_BASE + i))"; done
zk_volume() { if [[ $1 == 1 ]]; then echo parsl-cluster-zookeeper; else echo "parsl-cluster-zookeeper-$1"; fi; }
for i in 1 2 3; do
  run_container "parsl-cluster-zookeeper-$i" -v "$(zk_volume "$i"):/var/lib/zookeeper/data" \
    -v "$ROOT/infra/cluster/zookeeper/member-entrypoint.sh:/usr/local/bin/member-entrypoint.sh:ro" \
    --entrypoint /usr/local/bin/member-entrypoint.sh \
    -e ZOO_MY_ID="$i" -e ZOO_SERVERS="$zk_servers" -e ZOO_CLIENT_PORT="$((ZK_CLIENT_BASE + i))" \
    localhost/parsl-usage/zookeeper:3.8
done
# 18.16 attaches its Replicated* tables at start and exits if ZooKeeper is not there yet (a
# restart over existing volumes): start the replicas only once every member is in the quorum.
for i in 1 2 3; do wait_for "ZooKeeper member $i in a quorum" zk_serving "$((ZK_CLIENT_BASE + i))"; done

voters=""
for i in 1 2 3; do voters+="${voters:+,}$i@127.0.0.1:$((KAFKA_CONTROLLER_BASE + i))"; done
for i in 1 2 3; do
  run_container "parsl-cluster-kafka-$i" -v "parsl-cluster-kafka-$i:/var/lib/kafka/data" \
    -e KAFKA_NODE_ID="$i" -e KAFKA_CONTROLLER_QUORUM_VOTERS="$voters" \
    -e KAFKA_LISTENERS="PLAINTEXT://127.0.0.1:$((KAFKA_BASE + i)),CONTROLLER://127.0.0.1:$((KAFKA_CONTROLLER_BASE + i))" \
    -e KAFKA_ADVERTISED_LISTENERS="PLAINTEXT://127.0.0.1:$((KAFKA_BASE + i))" \
    -e KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR=3 -e KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR=3 \
    -e KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=2 -e KAFKA_DEFAULT_REPLICATION_FACTOR=3 -e KAFKA_MIN_INSYNC_REPLICAS=2 \
    -e KAFKA_HEAP_OPTS="-Xms128m -Xmx384m" \
    localhost/parsl-usage/kafka:3.9.1
done

for i in 1 2; do
  run_container "parsl-cluster-clickhouse-$i" -v "parsl-cluster-clickhouse-$i:/var/lib/clickhouse" \
    -v "$ROOT/infra/cluster/clickhouse/replica-entrypoint.sh:/usr/local/bin/replica-entrypoint.sh:ro" \
    -v "$ROOT/infra/cluster/clickhouse/users.d/zz-cluster.xml:/etc/clickhouse-server/users.d/zz-cluster.xml:ro" \
    --entrypoint /usr/local/bin/replica-entrypoint.sh \
    -e CLICKHOUSE_ZOOKEEPER_HOSTS="$ZK_HOSTS" \
    -e CLICKHOUSE_SHARD=01 -e CLICKHOUSE_REPLICA="replica-$i" -e CLICKHOUSE_INTERSERVER_HOST=127.0.0.1 \
    -e CLICKHOUSE_INTERSERVER_PORT="$((CH_INTERSERVER_BASE + i))" -e CLICKHOUSE_HTTP_PORT="$((CH_HTTP_BASE + i))" \
    -e CLICKHOUSE_TCP_PORT="$((CH_TCP_BASE + i))" \
    localhost/parsl-usage/clickhouse:18.16 clickhouse-server --config-file=/etc/clickhouse-server/config.xml
done

for i in 1 2; do wait_for "ClickHouse replica $i" curl -sf "http://127.0.0.1:$((CH_HTTP_BASE + i))/ping"; done
for i in 1 2 3; do
  wait_for "Kafka broker $i" bash -c "podman logs parsl-cluster-kafka-$i 2>&1 | grep -q 'Kafka Server started'"
done

log "creating topics (RF 3, min.insync.replicas 2) and applying migrations on both replicas"
migrate() {
  KAFKA_BROKERS="$CLUSTER_BROKERS" CLICKHOUSE_URL="$(ch_url 1)" CLICKHOUSE_OTHER_REPLICAS="$(ch_url 2)" \
    KAFKA_REPLICATION_FACTOR=3 KAFKA_MIN_INSYNC_REPLICAS=2 \
    CLICKHOUSE_USER=admin CLICKHOUSE_PASSWORD="${CLICKHOUSE_ADMIN_PASSWORD:-admin-dev-password}" \
    node "$ROOT/services/ops/dist/migrate-cli.js" >>"$RUN_DIR/logs/migrate.log" 2>&1
}
# A fresh quorum may answer "does not host this topic-partition" while the new topics' leaders
# settle; the command is idempotent, so a second run finishes the job.
migrate || { sleep 5; migrate; } || { tail -5 "$RUN_DIR/logs/migrate.log"; exit 1; }

# One UDP address for both relays: each datagram to 127.0.0.1:$RELAY_SHARED_PORT goes to the next
# relay's port in turn (stateless: no conntrack entry pins a sender to one relay). At a real site the
# same role is played by a health-checked L4 balancer (IPVS/keepalived) or ECMP routes to an anycast
# address; see SCALING.md.
nft -f - <<NFT
table inet parsl_cluster
delete table inet parsl_cluster
table inet parsl_cluster {
  chain out {
    type filter hook output priority raw; policy accept;
    ip daddr 127.0.0.1 udp dport $RELAY_SHARED_PORT notrack udp dport set numgen inc mod 2 map { 0 : $((RELAY_UDP_BASE + 1)), 1 : $((RELAY_UDP_BASE + 2)) }
  }
}
NFT

start_service() {
  local name=$1 entry=$2
  local pidfile="$RUN_DIR/$name.pid"
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return; fi
  log "starting $name"
  nohup bash "$ROOT/infra/scripts/supervise.sh" "$name" node "$ROOT/$entry" >>"$RUN_DIR/logs/$name.log" 2>&1 &
  echo $! >"$pidfile"
}
for i in 1 2; do
  KAFKA_BROKERS="$CLUSTER_BROKERS" RELAY_UDP_PORT="$((RELAY_UDP_BASE + i))" RELAY_HTTP_PORT="$((RELAY_HTTP_BASE + i))" \
    RELAY_SPOOL_DIR="$RUN_DIR/spool-$i" start_service "relay-$i" services/relay/dist/main.js
  KAFKA_BROKERS="$CLUSTER_BROKERS" CLICKHOUSE_URL="$(ch_url "$i")" AGG_HTTP_PORT="$((AGG_HTTP_BASE + i))" \
    KAFKA_CLIENT_ID="parsl-usage-aggregator-$i" \
    CLICKHOUSE_USER=ingest CLICKHOUSE_PASSWORD="${CLICKHOUSE_INGEST_PASSWORD:-ingest-dev-password}" \
    start_service "aggregator-$i" services/aggregator/dist/main.js
  DASH_CLICKHOUSE_URL="$(ch_url "$i")" DASH_HTTP_PORT="$((DASH_HTTP_BASE + i))" \
    DASH_CLICKHOUSE_USER=dashboard DASH_CLICKHOUSE_PASSWORD="${CLICKHOUSE_DASHBOARD_PASSWORD:-dashboard-dev-password}" \
    start_service "dashboard-$i" services/dashboard/dist/main.js
done
for i in 1 2; do
  wait_for "relay-$i health" curl -sf "http://127.0.0.1:$((RELAY_HTTP_BASE + i))/healthz"
  wait_for "aggregator-$i health" curl -sf "http://127.0.0.1:$((AGG_HTTP_BASE + i))/healthz"
  wait_for "dashboard-$i health" curl -sf "http://127.0.0.1:$((DASH_HTTP_BASE + i))/healthz"
done

# Monitoring: one Prometheus scraping every instance, one Alertmanager (ALERT_WEBHOOK_URL, as npm start).
mkdir -p "$RUN_DIR/monitoring/prometheus-data" "$RUN_DIR/monitoring/alertmanager-data"
bash "$ROOT/infra/cluster/prometheus-config.sh" "$ROOT" >"$RUN_DIR/monitoring/prometheus.yml"
if [[ -n "${ALERT_WEBHOOK_URL:-}" ]]; then
  sed "s|__ALERT_WEBHOOK_URL__|$ALERT_WEBHOOK_URL|" "$ROOT/infra/alertmanager/alertmanager.yml"
else
  sed '/webhook_configs:/,/^ *send_resolved:/d' "$ROOT/infra/alertmanager/alertmanager.yml"
fi >"$RUN_DIR/monitoring/alertmanager.yml"
if ! { [[ -f "$RUN_DIR/alertmanager.pid" ]] && kill -0 "$(cat "$RUN_DIR/alertmanager.pid")" 2>/dev/null; }; then
  nohup bash "$ROOT/infra/scripts/supervise.sh" alertmanager prometheus-alertmanager \
    --config.file="$RUN_DIR/monitoring/alertmanager.yml" --storage.path="$RUN_DIR/monitoring/alertmanager-data" \
    --web.listen-address="127.0.0.1:$ALERTMANAGER_CLUSTER_PORT" --cluster.listen-address= \
    >>"$RUN_DIR/logs/alertmanager.log" 2>&1 &
  echo $! >"$RUN_DIR/alertmanager.pid"
fi
if ! { [[ -f "$RUN_DIR/prometheus.pid" ]] && kill -0 "$(cat "$RUN_DIR/prometheus.pid")" 2>/dev/null; }; then
  nohup bash "$ROOT/infra/scripts/supervise.sh" prometheus prometheus \
    --config.file="$RUN_DIR/monitoring/prometheus.yml" --storage.tsdb.path="$RUN_DIR/monitoring/prometheus-data" \
    --web.listen-address="127.0.0.1:$PROMETHEUS_CLUSTER_PORT" >>"$RUN_DIR/logs/prometheus.log" 2>&1 &
  echo $! >"$RUN_DIR/prometheus.pid"
fi
wait_for "Prometheus" curl -sf "http://127.0.0.1:$PROMETHEUS_CLUSTER_PORT/-/ready"

cat <<MSG

Parsl usage cluster is up.
  Send datagrams to   udp://127.0.0.1:$RELAY_SHARED_PORT   (relays on :$((RELAY_UDP_BASE + 1)) and :$((RELAY_UDP_BASE + 2)))
  Kafka               $CLUSTER_BROKERS
  ClickHouse          $(ch_url 1)  $(ch_url 2)   (ZooKeeper $ZK_HOSTS)
  Dashboards          http://127.0.0.1:$((DASH_HTTP_BASE + 1))/  http://127.0.0.1:$((DASH_HTTP_BASE + 2))/
  Prometheus          http://127.0.0.1:$PROMETHEUS_CLUSTER_PORT/alerts   Alertmanager http://127.0.0.1:$ALERTMANAGER_CLUSTER_PORT/
  Logs                $RUN_DIR/logs/
  Stop                npm run cluster:down   (data kept in podman volumes parsl-cluster-*; CLUSTER_RESET=1 removes them)
MSG
