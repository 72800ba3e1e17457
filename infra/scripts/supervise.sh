#!/usr/bin/env bash
# supervise.sh NAME COMMAND...: keeps one service of `npm start` running.
# Runs COMMAND; when it exits for any reason other than our own stop, waits (1 s, doubling up to
# 60 s; back to 1 s once a run has lasted 60 s) and starts it again. Each restart is one JSON log
# line (pino's shape, level 40 = warn) in the service's log, and the count reaches the service as
# SUPERVISOR_RESTARTS, which it exposes as <service>_supervisor_restarts on /metrics.
# SIGTERM or SIGINT: forwarded to the service, whose exit then ends the supervisor.
set -uo pipefail
name=$1
shift
restarts=0
delay=1 # s
child=
stopping=
stop() {
  stopping=1
  [[ -n "$child" ]] && kill -TERM "$child" 2>/dev/null
}
trap stop TERM INT
while :; do
  started=$(date +%s)
  SUPERVISOR_RESTARTS=$restarts "$@" &
  child=$!
  # `wait` returns early when a trapped signal arrives: wait again until the child is gone.
  while :; do
    wait "$child"
    code=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=
  [[ -n "$stopping" ]] && exit 0
  (($(date +%s) - started >= 60)) && delay=1
  restarts=$((restarts + 1))
  printf '{"level":40,"time":%s,"service":"supervisor","child":"%s","exitCode":%s,"restarts":%s,"backoffS":%s,"msg":"%s exited; restarting"}\n' \
    "$(date +%s%3N)" "$name" "$code" "$restarts" "$delay" "$name"
  sleep "$delay" &
  wait $! 2>/dev/null
  [[ -n "$stopping" ]] && exit 0
  delay=$((delay * 2 > 60 ? 60 : delay * 2))
done
