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

# ensure_cached_venv NAME TAG PYTHON MODULE VERSION PIP_SPEC...: the venv $PARSL_USAGE_CACHE/NAME
# with PIP_SPECs installed and MODULE.__version__ == VERSION, built from PYTHON once; complete
# when its marker .parsl-usage-ready-TAG exists. Shared by the Parsl and the chDB venvs.
ensure_cached_venv() {
  (
    set -euo pipefail
    local name=$1 tag=$2 python=$3 module=$4 version=$5
    shift 5
    local cache="${PARSL_USAGE_CACHE:-/var/cache/parsl-usage}"
    local venv="$cache/$name"
    local marker="$venv/.parsl-usage-ready-$tag"
    [[ -f "$marker" ]] && exit 0
    mkdir -p "$cache"
    exec 9>"$cache/$name.lock"
    flock 9
    [[ -f "$marker" ]] && exit 0 # built by whoever held the lock
    printf '[setup %s] creating %s with %s\n' "$(date +%H:%M:%S)" "$venv" "$*" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$@" >&2
    local got
    got="$("$venv/bin/python" -c "import $module; print($module.__version__)")"
    if [[ "$got" != "$version" ]]; then
      echo "ensure_cached_venv $name: expected $module $version, got $got" >&2
      exit 1
    fi
    touch "$marker"
  )
}

ensure_parsl_venv() {
  ensure_cached_venv parsl-venv "$PARSL_VENV_VERSION" "${PARSL_PYTHON:-python3}" parsl \
    "$PARSL_VENV_VERSION" "parsl==$PARSL_VENV_VERSION"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ensure_parsl_venv
  if [[ "${1:-}" == "--print-python" ]]; then
    echo "${PARSL_USAGE_CACHE:-/var/cache/parsl-usage}/parsl-venv/bin/python"
  fi
fi
