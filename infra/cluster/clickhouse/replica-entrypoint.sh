#!/bin/sh
# One replica of the cluster shape (infra/cluster; SCALING.md): writes the replica's part of the
# server config from the environment, then runs the image's own entrypoint (passwords, server).
#   CLICKHOUSE_ZOOKEEPER_HOSTS       every member of the coordination service (ZooKeeper for 18.16,
#                                    Keeper for current releases), comma-separated host[:port],
#                                    e.g. keeper-1:9181,keeper-2:9181,keeper-3:9181
#   CLICKHOUSE_ZOOKEEPER_PORT        the port of members listed without one (default 2181)
#   CLICKHOUSE_ZOOKEEPER_HOST        the former single member; read only when _HOSTS is unset
#   CLICKHOUSE_ZOOKEEPER_SESSION_TIMEOUT_MS, _OPERATION_TIMEOUT_MS  (defaults 10000, 3000; below)
#   CLICKHOUSE_SHARD/REPLICA         the {shard} and {replica} macros of the Replicated* paths
#   CLICKHOUSE_INTERSERVER_HOST/PORT where the other replicas fetch parts from
#   CLICKHOUSE_HTTP_PORT/TCP_PORT    several replicas on one host network
#   CLICKHOUSE_CLUSTER_RENDER_ONLY=1 write the file and exit (test/replica-config.test.ts)
# Every member must be listed: the ZooKeeper client only ever connects to the members in its own
# list (it learns no others from the ensemble), so a list of one fails with that one member.
# Generated rather than <x from_env=".."/>: 18.16 fails on from_env in these elements.
set -eu
: "${CLICKHOUSE_REPLICA:?}" "${CLICKHOUSE_INTERSERVER_HOST:?}"
hosts="${CLICKHOUSE_ZOOKEEPER_HOSTS:-${CLICKHOUSE_ZOOKEEPER_HOST:-}}"
[ -n "$hosts" ] || { echo "replica-entrypoint: set CLICKHOUSE_ZOOKEEPER_HOSTS (host:port,...)" >&2; exit 1; }
default_port="${CLICKHOUSE_ZOOKEEPER_PORT:-2181}"

# One <node> per member. Names and ports are checked here: a typo would otherwise reach the
# server as broken XML, or as a member it can never reach.
nodes=""
index=0
set -f # a member is a name, never a file pattern
old_ifs=$IFS
IFS=','
for member in $hosts; do
  IFS=$old_ifs
  member=$(printf '%s' "$member" | tr -d ' \t')
  [ -n "$member" ] || continue
  case "$member" in
    *:*) host=${member%:*} port=${member##*:} ;;
    *) host=$member port=$default_port ;;
  esac
  if ! printf '%s' "$host" | grep -Eq '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$' ||
    ! printf '%s' "$port" | grep -Eq '^[0-9]{1,5}$' || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    echo "replica-entrypoint: bad coordination member '$member' (host[:port] expected)" >&2
    exit 1
  fi
  index=$((index + 1))
  nodes="$nodes        <node index=\"$index\">
            <host>$host</host>
            <port>$port</port>
        </node>
"
done
IFS=$old_ifs
set +f
[ "$index" -gt 0 ] || { echo "replica-entrypoint: no coordination member in '$hosts'" >&2; exit 1; }

# Timeouts of the coordination client. A member that stops answering without closing its
# connections (a frozen process, a lost host) is left after the operation timeout, not the
# session timeout: with requests always in flight (inserts, replication), 18.16 drops a session
# whose oldest request has waited that long and opens a new one on another listed member; the
# handshake with each member is bounded by it too. 3,000 ms is the ensemble's syncLimit x
# tickTime (infra/cluster/zookeeper/member-entrypoint.sh), so the replicas and the followers give
# up on a frozen leader together; ZooKeeper answers in milliseconds (max latency 334 ms on the
# loaded local cluster), so it is not reached by a slow answer. 18.16's default is 10,000 ms.
session_timeout_ms=${CLICKHOUSE_ZOOKEEPER_SESSION_TIMEOUT_MS:-10000}
operation_timeout_ms=${CLICKHOUSE_ZOOKEEPER_OPERATION_TIMEOUT_MS:-3000}
for ms in "$session_timeout_ms" "$operation_timeout_ms"; do
  printf '%s' "$ms" | grep -Eq '^[1-9][0-9]{0,6}$' ||
    { echo "replica-entrypoint: bad coordination timeout '$ms' (ms expected)" >&2; exit 1; }
done

# docker-compose.cluster.yml mounts single files into config.d, so that this one can be written.
cat > "${CLICKHOUSE_CLUSTER_CONFIG:-/etc/clickhouse-server/config.d/zz-cluster.xml}" <<XML
<?xml version="1.0"?>
<yandex>
    <zookeeper>
${nodes}        <session_timeout_ms>${session_timeout_ms}</session_timeout_ms>
        <operation_timeout_ms>${operation_timeout_ms}</operation_timeout_ms>
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
XML
[ "${CLICKHOUSE_CLUSTER_RENDER_ONLY:-0}" = 1 ] && exit 0
exec /usr/local/bin/parsl-usage-clickhouse-entrypoint.sh "$@"
