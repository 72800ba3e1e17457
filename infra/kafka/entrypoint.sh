#!/bin/sh
# Starts a single-node KRaft broker from Maven-fetched jars.
# KAFKA_FOO_BAR=x becomes foo.bar=x (apache/kafka's rule: _ -> ., __ -> _, ___ -> -),
# so docker-compose.yml can configure this image and the official one alike.
set -eu
CONF=/opt/kafka/config/server.properties
mkdir -p /opt/kafka/config
cp /opt/kafka/server.properties.default "$CONF"
env | grep '^KAFKA_' | while IFS='=' read -r name value; do
  case "$name" in KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_LOG4J_OPTS) continue ;; esac
  key=$(printf '%s' "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g')
  grep -v "^${key}=" "$CONF" > "$CONF.tmp" || true
  mv "$CONF.tmp" "$CONF"
  printf '%s=%s\n' "$key" "$value" >> "$CONF"
done
CLASSPATH="/opt/kafka/libs/*"
JAVA="java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m} -XX:+UseG1GC -Dlog4j.configuration=file:/opt/kafka/log4j.properties ${KAFKA_OPTS:-}"
LOG_DIR=$(grep '^log.dirs=' "$CONF" | cut -d= -f2 | cut -d, -f1)
mkdir -p "$LOG_DIR"
if [ ! -f "$LOG_DIR/meta.properties" ]; then
  $JAVA -cp "$CLASSPATH" kafka.tools.StorageTool format -t "${CLUSTER_ID:-cGFyc2wtdXNhZ2Uta2Fma2E}" -c "$CONF" --ignore-formatted
fi
exec $JAVA -cp "$CLASSPATH" kafka.Kafka "$CONF"
