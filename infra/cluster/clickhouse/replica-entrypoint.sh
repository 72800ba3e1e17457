#!/bin/sh
# One replica of the cluster shape (infra/cluster; SCALING.md): writes the replica's part of the
# server config from the environment, then runs the image's own entrypoint (passwords, server).
#   CLICKHOUSE_ZOOKEEPER_HOST/PORT   the coordination service (ZooKeeper for 18.16)
#   CLICKHOUSE_SHARD/REPLICA         the {shard} and {replica} macros of the Replicated* paths
#   CLICKHOUSE_INTERSERVER_HOST/PORT where the other replicas fetch parts from
#   CLICKHOUSE_HTTP_PORT/TCP_PORT    several replicas on one host network
# Generated rather than <x from_env=".."/>: 18.16 fails on from_env in these elements.
set -eu
: "${CLICKHOUSE_ZOOKEEPER_HOST:?}" "${CLICKHOUSE_REPLICA:?}" "${CLICKHOUSE_INTERSERVER_HOST:?}"
# docker-compose.cluster.yml mounts single files into config.d, so that this one can be written.
cat > "${CLICKHOUSE_CLUSTER_CONFIG:-/etc/clickhouse-server/config.d/zz-cluster.xml}" <<EOF
<?xml version="1.0"?>
<yandex>
    <zookeeper>
        <node>
            <host>${CLICKHOUSE_ZOOKEEPER_HOST}</host>
            <port>${CLICKHOUSE_ZOOKEEPER_PORT:-2181}</port>
        </node>
        <session_timeout_ms>10000</session_timeout_ms>
    </zookeeper>
    <macros>
        <shard>${CLICKHOUSE_SHARD:-01}</shard>
        <replica>${CLICKHOUSE_REPLICA}</replica>
    </macros>
    <interserver_http_host>${CLICKHOUSE_INTERSERVER_HOST}</interserver_http_host>
    <interserver_http_port>${CLICKHOUSE_INTERSERVER_PORT:-9009}</interserver_http_port>
    <http_port>${CLICKHOUSE_HTTP_PORT:-8123}</http_port>
    <tcp_port>${CLICKHOUSE_TCP_PORT:-9000}</tcp_port>
</yandex>
EOF
exec /usr/local/bin/parsl-usage-clickhouse-entrypoint.sh "$@"
