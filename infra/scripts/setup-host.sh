#!/usr/bin/env bash
# Idempotent host preparation shared by `npm start` and `npm test`.
# Everything it installs or builds is cached; a second run only checks.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${PARSL_USAGE_CACHE:-/var/cache/parsl-usage}"
PODMAN_SOCK="${PODMAN_SOCK:-/run/podman/podman.sock}"
export DOCKER_HOST="${DOCKER_HOST:-unix://$PODMAN_SOCK}"

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# What the pipeline and the operator commands run (`npm start`; chromium and poppler for `npm run report`).
APT_PACKAGES=(podman runc debootstrap docker-compose clickhouse-client slirp4netns uidmap iproute2 curl chromium poppler-utils prometheus prometheus-alertmanager)
# Only `npm test` needs these: nginx checks infra/deploy/nginx.conf (test/deploy-configs.test.ts),
# python3-venv and pip build the Parsl and chDB venvs.
TEST_APT_PACKAGES=(nginx-light openssl python3-venv python3-pip)

ensure_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
  fi
}

ensure_podman_config() {
  local conf=/etc/containers/containers.conf
  # crun fails on this kernel ("cgroups in hybrid mode"); default ulimits cannot be raised in this sandbox.
  if ! grep -q '^# parsl-usage' "$conf" 2>/dev/null; then
    log "writing $conf (runtime runc, no default ulimits)"
    mkdir -p /etc/containers
    cat >"$conf" <<'CONF'
# parsl-usage: written by infra/scripts/setup-host.sh
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
  fi
}

ensure_podman_service() {
  # A service started (by an older set-up) from a checkout since removed answers pings but can
  # start no container: stop it, and start one from / below.
  local pid
  pid="$(cat /run/parsl-usage-podman.pid 2>/dev/null || true)"
  if [[ -n "$pid" ]] && [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == *"(deleted)" ]]; then
    log "podman API service $pid runs in a removed directory; restarting it"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  if curl -sf --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1; then return; fi
  log "starting podman API service on $PODMAN_SOCK"
  mkdir -p "$(dirname "$PODMAN_SOCK")"
  rm -f "$PODMAN_SOCK"
  # From /: the service and every conmon it forks keep this working directory, and a checkout
  # removed while they run ("Failed to get working directory") fails every later container start.
  (cd / && exec nohup podman system service --time=0 "unix://$PODMAN_SOCK" >/var/log/parsl-usage-podman.log 2>&1) &
  echo $! >/run/parsl-usage-podman.pid
  for _ in $(seq 1 100); do
    curl -sf --unix-socket "$PODMAN_SOCK" http://d/_ping >/dev/null 2>&1 && return
    sleep 0.1
  done
  log "podman API did not come up; see /var/log/parsl-usage-podman.log"; exit 1
}

image_exists() { podman image exists "$1"; }

ensure_base_image() {
  local img=localhost/parsl-usage/base:bookworm
  image_exists "$img" && return
  log "building base rootfs with debootstrap (about 35 s)"
  mkdir -p "$CACHE_DIR"
  rm -rf "$CACHE_DIR/rootfs.tmp"
  debootstrap --variant=minbase bookworm "$CACHE_DIR/rootfs.tmp" http://deb.debian.org/debian >"$CACHE_DIR/debootstrap.log" 2>&1
  rm -rf "$CACHE_DIR/rootfs.tmp/var/cache/apt/archives/"*.deb
  tar -C "$CACHE_DIR/rootfs.tmp" -c . | podman import -q - "$img" >/dev/null
  rm -rf "$CACHE_DIR/rootfs.tmp"
}

ensure_kafka_libs() {
  local libs="$ROOT/infra/kafka/target/kafka-libs"
  local stamp="$libs/.pom.sha256"
  local want; want="$(sha256sum "$ROOT/infra/kafka/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return; fi
  log "fetching Kafka broker jars from Maven Central"
  rm -rf "$libs"
  (cd "$ROOT/infra/kafka" && mvn -q -B dependency:copy-dependencies)
  echo "$want" >"$stamp"
}

# Rebuild an image only when it is missing or any file of its recipe changed.
ensure_image() {
  local name=$1 context=$2 containerfile=$3
  local hash; hash="$( (cd "$context" && find . -path ./target -prune -o -type f -print0 | sort -z | xargs -0 sha256sum; cat "$containerfile" ) | sha256sum | cut -c1-16)"
  local have; have="$(podman image inspect --format '{{index .Labels "recipe"}}' "$name" 2>/dev/null || true)"
  [[ "$have" == "$hash" ]] && return
  log "building image $name"
  podman build -q --network=host --label "recipe=$hash" -t "$name" -f "$containerfile" "$context" >/dev/null
}

ensure_kafka_image() {
  ensure_kafka_libs
  # The jars are part of the recipe through the pom's hash; copying them keeps the build context small.
  local ctx="$CACHE_DIR/kafka-context"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -r "$ROOT/infra/kafka/target/kafka-libs" "$ctx/libs"
  cp "$ROOT/infra/kafka/pom.xml" "$ROOT/infra/kafka/entrypoint.sh" "$ROOT/infra/kafka/server.properties" "$ctx/"
  ensure_image localhost/parsl-usage/kafka:3.9.1 "$ctx" "$ROOT/infra/images/kafka.Containerfile"
}

ensure_clickhouse_image() {
  ensure_image localhost/parsl-usage/clickhouse:18.16 "$ROOT/infra/clickhouse" "$ROOT/infra/images/clickhouse.Containerfile"
}

# ZooKeeper for 18.16's Replicated* tables: test/cluster-migrations.test.ts and npm run cluster:up.
ensure_zookeeper_image() {
  ensure_image localhost/parsl-usage/zookeeper:3.8 "$ROOT/infra/zookeeper" "$ROOT/infra/images/zookeeper.Containerfile"
}

# Local stand-in for node:20-bookworm-slim (the base for the app image docker-compose.yml builds):
# the host's Node binary and npm copied onto the base image. Rebuilt only when they or the recipe change.
ensure_node_image() {
  local node_bin; node_bin="$(readlink -f "${NODE_BIN:-/usr/bin/node}")"
  local npm_dir="${NPM_DIR:-/usr/lib/node_modules/npm}"
  [[ "$("$node_bin" --version)" == v20.* ]] || { log "$node_bin is not Node 20"; exit 1; }
  local ctx="$CACHE_DIR/node-context"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$node_bin" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  # The host's trust store, so that npm inside builds reaches the registry the way the host's npm does.
  cp "${NODE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/ca-certificates.crt"
  ensure_image localhost/parsl-usage/node:20 "$ctx" "$ROOT/infra/images/node.Containerfile"
}

ensure_node_deps() {
  cd "$ROOT"
  local stamp=node_modules/.package-lock.sha256
  local want; want="$(cat package-lock.json package.json */package.json services/*/package.json 2>/dev/null | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    log "installing npm dependencies"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$want" >"$stamp"
  fi
  log "building TypeScript"
  npx tsc -b schemas services/common services/relay services/aggregator services/ops services/dashboard
}

# shellcheck source=ensure-parsl-venv.sh
source "$ROOT/infra/scripts/ensure-parsl-venv.sh"

# A cached venv with chDB (ClickHouse in-process), for test/clickhouse-current.test.ts: the
# migrations and views must run on current ClickHouse as well as on the 18.16 server.
# Cached and pinned as the Parsl venv is (ensure_cached_venv): $PARSL_USAGE_CACHE/chdb-venv.
# chdb 4.4.0 requires chdb-core >= 26.7, and chdb-core is the ClickHouse (26.9.0 = ClickHouse
# 26.9): pinned too, so the server version tested changes only here. CHDB_PYTHON: interpreter to build it from (default python3).
CHDB_VENV_VERSION=4.4.0
CHDB_CORE_VERSION=26.9.0

ensure_chdb_venv() {
  ensure_cached_venv chdb-venv "$CHDB_VENV_VERSION-$CHDB_CORE_VERSION" "${CHDB_PYTHON:-python3}" chdb \
    "$CHDB_VENV_VERSION" "chdb==$CHDB_VENV_VERSION" "chdb-core==$CHDB_CORE_VERSION"
}

# A cached venv with pyarrow, for test/open-data.test.ts: the exported Parquet files must read
# back with the reference Arrow implementation, not only with the library that wrote them.
# Cached and pinned as the chDB venv is: $PARSL_USAGE_CACHE/pyarrow-venv. PYARROW_PYTHON:
# interpreter to build it from (default python3).
PYARROW_VENV_VERSION=26.0.1

ensure_pyarrow_venv() {
  ensure_cached_venv pyarrow-venv "$PYARROW_VENV_VERSION" "${PYARROW_PYTHON:-python3}" pyarrow \
    "$PYARROW_VENV_VERSION" "pyarrow==$PYARROW_VENV_VERSION"
}

# podman, its API socket and every local image: what the compose smoke test needs too.
setup_containers() {
  ensure_podman_config
  ensure_podman_service
  ensure_base_image
  ensure_kafka_image
  ensure_clickhouse_image
  ensure_zookeeper_image
  ensure_node_image
}

# `npm start`: what the pipeline and the operator commands run, nothing only the tests use.
setup_runtime() {
  ensure_apt
  setup_containers
  ensure_node_deps
}

# `npm test`: the runtime, plus the test-only tools (the real Parsl client, chDB, pyarrow, nginx).
setup_all() {
  ensure_apt "${TEST_APT_PACKAGES[@]}"
  setup_containers
  ensure_node_deps
  ensure_parsl_venv
  ensure_chdb_venv
  ensure_pyarrow_venv
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then setup_all; fi
