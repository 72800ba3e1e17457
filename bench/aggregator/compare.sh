#!/usr/bin/env bash
# Before and after in one run, alternated: ROUNDS rounds of the earlier build's aggregator
# (phase throughput) then this checkout's (phases throughput and peer: the Kafka-engine peer on
# the same 100,000 messages). Each run.sh invocation gets a fresh pod. The summary (medians and
# spreads of events/s from spawn and of aggregator CPU per message) is printed last.
#   BEFORE_MAIN=/work/bench-before/services/aggregator/dist/main.js ROUNDS=3 \
#     bash bench/aggregator/compare.sh | tee bench/aggregator/results-DATE.log
# AFTER_PACK: datagrams per Kafka record in the topic this checkout's aggregator reads (packs, as
# the relay writes them; default 1, one bare datagram per record as before). The earlier build
# always reads one datagram per record, and the peer gets its own topic of the same datagrams.
# BEFORE_MAIN: an earlier commit's build (a git worktree outside this checkout whose node_modules
# links this one's, with its own @parsl-usage packages; see BENCHMARKS.md for the commands).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${BEFORE_MAIN:?BEFORE_MAIN must name the services/aggregator/dist/main.js}"
export BENCH_PAIRS=${BENCH_PAIRS:-50000} KAFKAJS_NO_PARTITIONER_WARNING=1
out=$(mktemp)
for r in $(seq 1 "${ROUNDS:-3}"); do
  echo "round $r: load $(cut -d' ' -f1-3 /proc/loadavg)"
  BENCH_PHASES=throughput BENCH_AGG_MAIN="$BEFORE_MAIN" bash bench/aggregator/run.sh | grep '^RESULTS' | sed 's/^RESULTS /before /' | tee -a "$out"
  echo "round $r: load $(cut -d' ' -f1-3 /proc/loadavg)"
  BENCH_PACK=${AFTER_PACK:-1} BENCH_PHASES=throughput,peer bash bench/aggregator/run.sh | grep '^RESULTS' | sed 's/^RESULTS /after /' | tee -a "$out"
done
echo "end: load $(cut -d' ' -f1-3 /proc/loadavg)"
node bench/aggregator/compare-summary.mjs "$out"
