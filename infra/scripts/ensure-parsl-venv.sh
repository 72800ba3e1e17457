#!/usr/bin/env bash
# Ensures a cached Python venv with a real Parsl release, for test/parsl-real-client.test.ts.
#
# Usage: source it and call `ensure_parsl_venv` (setup-host.sh), or run it directly. Idempotent:
# when the venv is already complete it prints nothing and exits 0. Prints the venv's python
# path only when asked (`ensure-parsl-venv.sh --print-python`).
#
# Pinned to parsl==2025.03.17: releases from 2025.03.24 on send no usage datagram at all
# (Parsl issue #4038), so they cannot exercise the collection pipeline.
#
#   PARSL_USAGE_CACHE  cache root (default /var/cache/parsl-usage); the venv is $PARSL_USAGE_CACHE/parsl-venv
#   PARSL_PYTHON       interpreter to build the venv from (default python3)
#
# A venv is not relocatable, so it is built in place; a marker file written last says that the
# build finished, and a partial venv (no marker) is removed and rebuilt. flock keeps the test
# and setup-host.sh from building it at the same time.

PARSL_VENV_VERSION=2025.03.17

ensure_parsl_venv() {
  (
    set -euo pipefail
    local cache="${PARSL_USAGE_CACHE:-/var/cache/parsl-usage}"
    local venv="$cache/parsl-venv"
    local marker="$venv/.parsl-usage-ready-$PARSL_VENV_VERSION"
    [[ -f "$marker" ]] && exit 0
    mkdir -p "$cache"
    exec 9>"$cache/parsl-venv.lock"
    flock 9
    [[ -f "$marker" ]] && exit 0 # built by whoever held the lock
    printf '[setup %s] creating %s with parsl==%s\n' "$(date +%H:%M:%S)" "$venv" "$PARSL_VENV_VERSION" >&2
    rm -rf "$venv"
    "${PARSL_PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "parsl==$PARSL_VENV_VERSION" >&2
    local got
    got="$("$venv/bin/python" -c 'import parsl; print(parsl.__version__)')"
    if [[ "$got" != "$PARSL_VENV_VERSION" ]]; then
      echo "ensure-parsl-venv: expected parsl $PARSL_VENV_VERSION, got $got" >&2
      exit 1
    fi
    touch "$marker"
  )
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ensure_parsl_venv
  if [[ "${1:-}" == "--print-python" ]]; then
    echo "${PARSL_USAGE_CACHE:-/var/cache/parsl-usage}/parsl-venv/bin/python"
  fi
fi
