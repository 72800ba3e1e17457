#!/bin/sh
# Turns the users' passwords into the environment that users.d/parsl-usage.xml reads
# (<password_sha256_hex from_env="..."/>, <ip from_env="..."/>), then starts the server.
# The same script runs in localhost/parsl-usage/clickhouse:18.16 (its ENTRYPOINT) and, mounted by
# docker-compose.yml, in front of the official image's /entrypoint.sh.
#
# For each user U in ADMIN INGEST ANALYST DASHBOARD, the password is, first found:
#   CLICKHOUSE_U_PASSWORD_FILE   a file holding it (a container secret); one trailing newline is dropped
#   CLICKHOUSE_U_PASSWORD        the password itself
#   u-dev-password               LOCAL DEVELOPMENT DEFAULT, with a warning
# CLICKHOUSE_REQUIRE_PASSWORDS=1 (set it in every real deployment) refuses to start without a
# password for every user, or with one that is a development default.
# Only the SHA-256 reaches the server's environment; the plain variables are unset before exec.
# CLICKHOUSE_U_NETWORK (one address or CIDR, default ::/0) is where U may log in from.
# The built-in `default` user gets a random SHA-256 (nobody knows a password for it) and no networks.
set -eu

warn() { echo "parsl-usage clickhouse entrypoint: $*" >&2; }

sha256() { printf '%s' "$1" | sha256sum | cut -c1-64; }

for u in ADMIN INGEST ANALYST DASHBOARD; do
  lower=$(echo "$u" | tr 'A-Z' 'a-z')
  eval "file=\${CLICKHOUSE_${u}_PASSWORD_FILE:-}"
  eval "plain=\${CLICKHOUSE_${u}_PASSWORD:-}"
  if [ -n "$file" ]; then
    [ -r "$file" ] || { warn "CLICKHOUSE_${u}_PASSWORD_FILE=$file is not readable"; exit 1; }
    # $(...) drops trailing newlines, as secrets written by `echo` end with one.
    plain=$(cat "$file")
  fi
  if [ -z "$plain" ] || [ "$plain" = "$lower-dev-password" ]; then
    if [ "${CLICKHOUSE_REQUIRE_PASSWORDS:-0}" = 1 ]; then
      warn "CLICKHOUSE_REQUIRE_PASSWORDS=1 and $lower has no password or the development one: set CLICKHOUSE_${u}_PASSWORD or CLICKHOUSE_${u}_PASSWORD_FILE"
      exit 1
    fi
    warn "using the LOCAL DEVELOPMENT password for $lower ($lower-dev-password): set CLICKHOUSE_${u}_PASSWORD(_FILE) before exposing anything"
    plain="$lower-dev-password"
  fi
  export "CLICKHOUSE_${u}_PASSWORD_SHA256=$(sha256 "$plain")"
  eval "net=\${CLICKHOUSE_${u}_NETWORK:-::/0}"
  export "CLICKHOUSE_${u}_NETWORK=$net"
  unset "CLICKHOUSE_${u}_PASSWORD" "CLICKHOUSE_${u}_PASSWORD_FILE"
done
plain=''
CLICKHOUSE_DEFAULT_PASSWORD_SHA256=$(head -c 32 /dev/urandom | sha256sum | cut -c1-64)
export CLICKHOUSE_DEFAULT_PASSWORD_SHA256

if [ "$#" -gt 0 ]; then exec "$@"; fi
# The official image's own entrypoint (directories, dropping root); ours runs the server directly.
if [ -x /entrypoint.sh ]; then exec /entrypoint.sh; fi
exec clickhouse-server --config-file=/etc/clickhouse-server/config.xml
