#!/usr/bin/env bash
# README command (B): prepares the host (idempotent, cached) and runs every test:
# lint, type checks, unit tests, then integration tests against real Kafka and ClickHouse
# started by Testcontainers on podman.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/infra/scripts/setup-host.sh"
setup_all
cd "$ROOT"
export DOCKER_HOST TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
echo "== lint"; npx eslint . --max-warnings=0
echo "== typecheck"; npx tsc -b schemas services/relay services/aggregator test
echo "== tests"; npx vitest run "$@"
