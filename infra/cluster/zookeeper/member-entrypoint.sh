#!/bin/sh
# One member of the local cluster's ZooKeeper ensemble (infra/cluster/up.sh; SCALING.md): adds
# the ensemble to the image's zoo.cfg and writes this member's id, then runs the image's own
# entrypoint (infra/zookeeper/entrypoint.sh, which sets the client port). Mounted rather than
# built in, so that the image (also test/cluster-migrations.test.ts's standalone one) is unchanged.
#   ZOO_MY_ID        this member's id, 1..n
#   ZOO_SERVERS      every member, space-separated: server.1=127.0.0.1:12281:12381 server.2=...
#   ZOO_CLIENT_PORT  read by the image's entrypoint
set -eu
: "${ZOO_MY_ID:?}" "${ZOO_SERVERS:?}"
case "$ZOO_MY_ID" in *[!0-9]* | '') echo "member-entrypoint: ZOO_MY_ID must be a number" >&2; exit 1 ;; esac
base=/opt/zookeeper/zoo.cfg
# Rebuilt from the image's lines at every start: `podman start` keeps the container's files, and
# a second copy of the server lines would make ZooKeeper refuse the file.
grep -v '^server\.' "$base" > /tmp/zoo.cfg
for s in $ZOO_SERVERS; do echo "$s"; done >> /tmp/zoo.cfg
cp /tmp/zoo.cfg "$base"
mkdir -p /var/lib/zookeeper/data
echo "$ZOO_MY_ID" > /var/lib/zookeeper/data/myid
exec /opt/zookeeper/entrypoint.sh
