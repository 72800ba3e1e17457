#!/usr/bin/env bash
# End-to-end proof of docker-compose.yml: build and start the whole pipeline in a throw-away
# compose project, send one launch datagram to the relay over UDP, wait (with a deadline) until
# ClickHouse returns it as a workflow, then `down -v`. Exits non-zero on any failure and always
# removes what it started (containers, network, volumes), also on failure or Ctrl-C.
#
#   bash infra/compose/smoke.sh
#
# Environment (all optional):
#   SMOKE_ENV_FILE        compose --env-file (default infra/compose/local.env: the localhost/parsl-usage/*
#                         images; setup-host.sh is run first to build them). Use /dev/null for the defaults
#                         in docker-compose.yml (official images from a registry).
#   SMOKE_PROJECT         compose project name (default parsl-usage-smoke-<pid>)
#   SMOKE_DEADLINE_S      seconds to wait for the row once the stack is up (default 120)
#   RELAY_PUBLISH_PORT    host UDP port for the relay; default: the first free port from 50077 up
#   CLICKHOUSE_PUBLISH_PORT host TCP port for ClickHouse HTTP; default: the first free port from 8123 up
#   COMPOSE               compose command (default docker-compose)
#   DOCKER_HOST           default unix:///run/podman/podman.sock
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ENV_FILE="${SMOKE_ENV_FILE:-$ROOT/infra/compose/local.env}"
PROJECT="${SMOKE_PROJECT:-parsl-usage-smoke-$$}"
DEADLINE_S="${SMOKE_DEADLINE_S:-120}"
export DOCKER_HOST="${DOCKER_HOST:-unix:///run/podman/podman.sock}"
read -r -a COMPOSE_CMD <<<"${COMPOSE:-docker-compose}"

say() { printf '[smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
compose() { "${COMPOSE_CMD[@]}" --project-directory "$ROOT" -f "$ROOT/docker-compose.yml" --env-file "$ENV_FILE" -p "$PROJECT" "$@"; }

# The local images (and the podman API socket) come from setup-host.sh; official images need nothing.
if [[ "$ENV_FILE" == "$ROOT/infra/compose/local.env" ]]; then
  say "preparing the host and the local images (infra/scripts/setup-host.sh)"
  (
    # shellcheck source=../scripts/setup-host.sh
    source "$ROOT/infra/scripts/setup-host.sh"
    setup_containers
  )
fi

port_taken() { [[ -n "$(ss -Htuln "sport = :$1" 2>/dev/null)" ]]; }
first_free_port() {
  local p=$1
  while port_taken "$p"; do p=$((p + 1)); done
  echo "$p"
}
export RELAY_PUBLISH_HOST=127.0.0.1 CLICKHOUSE_PUBLISH_HOST=127.0.0.1 DASHBOARD_PUBLISH_HOST=127.0.0.1
export RELAY_PUBLISH_PORT="${RELAY_PUBLISH_PORT:-$(first_free_port 50077)}"
export CLICKHOUSE_PUBLISH_PORT="${CLICKHOUSE_PUBLISH_PORT:-$(first_free_port 8123)}"
export DASHBOARD_PUBLISH_PORT="${DASHBOARD_PUBLISH_PORT:-$(first_free_port 8080)}"

engine() { if command -v podman >/dev/null; then podman "$@"; else docker "$@"; fi; }
leftovers() {
  engine ps -a -q --filter "label=com.docker.compose.project=$PROJECT"
  engine volume ls -q | grep "^${PROJECT}_" || true
  engine network ls --format '{{.Name}}' | grep "^${PROJECT}_" || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((rc != 0)); then
    say "FAILED (exit $rc); state and logs before cleanup:"
    compose ps >&2 || true
    compose logs --no-color --tail=40 >&2 || true
  fi
  say "docker-compose down -v"
  compose down -v --remove-orphans -t 30 >&2 || rc=1
  local left; left="$(leftovers)"
  if [[ -n "$left" ]]; then
    say "left behind after down: $(echo "$left" | tr '\n' ' ')"
    rc=1
  else
    say "nothing of project $PROJECT is left"
  fi
  ((rc == 0)) && say "PASS" || say "FAIL"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "project $PROJECT: relay udp://127.0.0.1:$RELAY_PUBLISH_PORT, ClickHouse http://127.0.0.1:$CLICKHOUSE_PUBLISH_PORT"
say "docker-compose up -d --build (builds the app image, waits for the migrate job)"
timeout 1200 "${COMPOSE_CMD[@]}" --project-directory "$ROOT" -f "$ROOT/docker-compose.yml" \
  --env-file "$ENV_FILE" -p "$PROJECT" up -d --build >&2
compose ps >&2

deadline=$((SECONDS + DEADLINE_S))
# A datagram sent before the relay has bound its socket is lost: wait for its log line (grep without
# -q reads all of the logs, so the pipeline never dies of SIGPIPE), then send; the loop below
# resends anyway, so a changed log line only costs time.
say "waiting for the relay to bind its UDP socket"
bound_by=$((SECONDS + 30))
until compose logs --no-color relay 2>/dev/null | grep 'UDP intake bound' >/dev/null; do
  if ((SECONDS >= bound_by)); then
    say "no 'UDP intake bound' in the relay's log after 30 s; sending anyway"
    break
  fi
  sleep 1
done

id="$(cat /proc/sys/kernel/random/uuid)"
datagram="1{\"correlator\":\"$id\",\"parsl_v\":\"2025.03.17\",\"python_v\":\"3.12.2\",\"platform.system\":\"Linux\",\"tracking_level\":1}"
query="SELECT workflow_id, status FROM parsl_usage.workflows FINAL WHERE workflow_id = '$id'"
url="http://127.0.0.1:$CLICKHOUSE_PUBLISH_PORT/?user=analyst&password=${CLICKHOUSE_ANALYST_PASSWORD:-analyst-dev-password}"

say "sending launch datagram for workflow $id"
sent_at=$SECONDS
printf '%s' "$datagram" >"/dev/udp/127.0.0.1/$RELAY_PUBLISH_PORT"
row=""
while ((SECONDS < deadline)); do
  row="$(curl -sS --max-time 5 "$url" --data-binary "$query" 2>/dev/null || true)"
  [[ "$row" == "$id"$'\t'* ]] && break
  # UDP may drop a datagram; the pipeline is idempotent per workflow, so sending it again is safe.
  if ((SECONDS - sent_at >= 10)); then
    say "not there yet; sending the datagram again"
    printf '%s' "$datagram" >"/dev/udp/127.0.0.1/$RELAY_PUBLISH_PORT"
    sent_at=$SECONDS
  fi
  sleep 1
done
if [[ "$row" != "$id"$'\t'launched ]]; then
  say "expected '$id<TAB>launched' from ClickHouse within ${DEADLINE_S} s, got: ${row:-nothing}"
  exit 1
fi
say "ClickHouse returned: $row"

# The dashboard reads the same database as the analyst user: its headline must count the run.
say "asking the dashboard on http://127.0.0.1:$DASHBOARD_PUBLISH_PORT"
headline=""
until [[ "$headline" == *'"rows"'* ]] || ((SECONDS >= deadline)); do
  headline="$(curl -sS --max-time 5 "http://127.0.0.1:$DASHBOARD_PUBLISH_PORT/api/headline" 2>/dev/null || true)"
  [[ "$headline" == *'"rows"'* ]] || sleep 1
done
if [[ "$headline" != *'"rows"'* ]]; then
  say "the dashboard did not answer /api/headline within ${DEADLINE_S} s: ${headline:-nothing}"
  exit 1
fi
say "dashboard headline: ${headline:0:200}"
