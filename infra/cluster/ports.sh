# Ports of the local cluster (infra/cluster/up.sh), apart from npm start's. Sourced.
# shellcheck disable=SC2034
ZK_CLIENT_BASE=12180       # the ZooKeeper ensemble's members serve clients on 12181..12183
ZK_PEER_BASE=12280         # followers reach the leader on 12281..12283
ZK_ELECTION_BASE=12380     # leader election on 12381..12383
ZK_HOSTS=127.0.0.1:12181,127.0.0.1:12182,127.0.0.1:12183 # every member, as both replicas list them
KAFKA_BASE=19090            # brokers on 19091..19093
KAFKA_CONTROLLER_BASE=19190 # controllers on 19191..19193
CH_HTTP_BASE=18120          # replicas' HTTP on 18121, 18122
CH_TCP_BASE=19000           # 19001, 19002
CH_INTERSERVER_BASE=19010   # 19011, 19012
RELAY_SHARED_PORT=50177     # the one address senders use
RELAY_UDP_BASE=50180        # relays on 50181, 50182
RELAY_HTTP_BASE=19460       # 19461, 19462
AGG_HTTP_BASE=19470         # 19471, 19472
DASH_HTTP_BASE=18080        # 18081, 18082
CLUSTER_BROKERS=127.0.0.1:19091,127.0.0.1:19092,127.0.0.1:19093
ch_url() { echo "http://127.0.0.1:$((CH_HTTP_BASE + $1))"; }
# Q REPLICA SQL: a query as admin on replica REPLICA (1 or 2); the benchmarks' checks use it.
Q() { curl -sf "$(ch_url "$1")/?user=admin&password=${CLICKHOUSE_ADMIN_PASSWORD:-admin-dev-password}" --data-binary "$2"; }
# raw_total: messages in the raw topic (the sum of its partitions' end offsets).
raw_total() {
  podman exec parsl-cluster-kafka-1 java -cp '/opt/kafka/libs/*' org.apache.kafka.tools.GetOffsetShell \
    --bootstrap-server 127.0.0.1:$((KAFKA_BASE + 1)) --topic parsl.usage.raw 2>/dev/null |
    awk -F: '{s += $3} END {print s + 0}'
}
PROMETHEUS_CLUSTER_PORT=19490   # the cluster's Prometheus (infra/cluster/prometheus-config.sh)
ALERTMANAGER_CLUSTER_PORT=19493 # and Alertmanager
