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
echo "== dependency rules"; npm run --silent lint:deps
echo "== typecheck"; npx tsc -b schemas services/common services/relay services/aggregator services/ops services/dashboard test
echo "== tests"
mkdir -p .run
status=0
npx vitest run --reporter=default --reporter=json --outputFile=.run/vitest-report.json "$@" || status=$?
# A plain closing line that any CI log reader understands, whatever the runner prints.
node -e '
  const r = JSON.parse(require("fs").readFileSync(".run/vitest-report.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit "$status"
