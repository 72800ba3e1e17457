#!/bin/sh
# One member of the local cluster's ZooKeeper ensemble (infra/cluster/up.sh; SCALING.md): adds
# the ensemble to the image's zoo.cfg and writes this member's id, then runs the image's own
# entrypoint (infra/zookeeper/entrypoint.sh, which sets the client port). Mounted rather than
# built in, so that the image (also test/cluster-migrations.test.ts's standalone one) is unchanged.
#   ZOO_MY_ID        this member's id, 1..n
#   ZOO_SERVERS      every member, space-separated: server.1=127.0.0.1:12281:12381 server.2=...
#   ZOO_CLIENT_PORT  read by the image's entrypoint
#   ZOO_TICK_TIME_MS, ZOO_INIT_LIMIT, ZOO_SYNC_LIMIT  the ensemble's timing (defaults below)
# Timing: the image's zoo.cfg (tickTime 2000 ms, syncLimit 5) lets a frozen leader (a stopped
# process or a lost host: no FIN, its connections stay open) hold the ensemble for 10 s before
# the followers notice it and elect another; 1000 ms x 3 notices it in 3 s, in step with the
# replicas' operation timeout (3,000 ms, replica-entrypoint.sh), so that both sides give up on it
# together. A killed leader (its sockets closed) is noticed at once with either setting.
# The session bounds are written out so that the 10,000 ms ClickHouse asks for is granted as
# asked (ZooKeeper clamps a request to [minSessionTimeout, maxSessionTimeout]; here 2 and 30
# ticks, 2,000 and 30,000 ms).
set -eu
: "${ZOO_MY_ID:?}" "${ZOO_SERVERS:?}"
case "$ZOO_MY_ID" in *[!0-9]* | '') echo "member-entrypoint: ZOO_MY_ID must be a number" >&2; exit 1 ;; esac
base=/opt/zookeeper/zoo.cfg
# Rebuilt from the image's lines at every start: `podman start` keeps the container's files, and
# a second copy of the server lines would make ZooKeeper refuse the file.
tick=${ZOO_TICK_TIME_MS:-1000} # ms
for n in "$tick" "${ZOO_INIT_LIMIT:-10}" "${ZOO_SYNC_LIMIT:-3}"; do
  case "$n" in *[!0-9]* | '') echo "member-entrypoint: timing must be whole numbers" >&2; exit 1 ;; esac
done
grep -Ev '^(server\.|tickTime=|initLimit=|syncLimit=|minSessionTimeout=|maxSessionTimeout=)' "$base" > /tmp/zoo.cfg
{
  echo "tickTime=$tick"
  echo "initLimit=${ZOO_INIT_LIMIT:-10}" # ticks a follower has to connect and sync to a new leader
  echo "syncLimit=${ZOO_SYNC_LIMIT:-3}"  # ticks without an answer before a member is given up on
  echo "minSessionTimeout=$((tick * 2))"
  echo "maxSessionTimeout=$((tick * 30))"
  for s in $ZOO_SERVERS; do echo "$s"; done
} >> /tmp/zoo.cfg
cp /tmp/zoo.cfg "$base"
mkdir -p /var/lib/zookeeper/data
echo "$ZOO_MY_ID" > /var/lib/zookeeper/data/myid
exec /opt/zookeeper/entrypoint.sh
