#!/bin/sh
# Runs Debian's ZooKeeper 3.8 in the foreground (the package's init scripts daemonise).
# ZOO_CLIENT_PORT overrides the client port (several on one host network).
set -eu
CONF=/etc/zookeeper/parsl-usage/zoo.cfg
mkdir -p /etc/zookeeper/parsl-usage /var/lib/zookeeper/data
sed -e "s/^clientPort=.*/clientPort=${ZOO_CLIENT_PORT:-2181}/" /opt/zookeeper/zoo.cfg > "$CONF"
# The package's own class path (/etc/zookeeper/conf/environment): the jar's manifest lists the rest.
CP=/etc/zookeeper/conf:/usr/share/java/zookeeper.jar
exec java ${ZOO_HEAP_OPTS:--Xms64m -Xmx256m} -cp "$CP" \
  -Dzookeeper.log.dir=/var/log/zookeeper -Dzookeeper.root.logger=INFO,CONSOLE \
  org.apache.zookeeper.server.quorum.QuorumPeerMain "$CONF"
