#!/usr/bin/env bash
# prometheus-config.sh ROOT: prints the Prometheus configuration of `npm run cluster:up`, which
# scrapes every instance of the cluster (two relays, two aggregators, two dashboards) under the job
# names infra/prometheus/alerts.yml expects. Checked by test/prometheus-rules.test.ts.
set -euo pipefail
ROOT="${1:?usage: prometheus-config.sh ROOT}"
# shellcheck source=ports.sh
source "$ROOT/infra/cluster/ports.sh"
targets() { echo "['127.0.0.1:$(($1 + 1))', '127.0.0.1:$(($1 + 2))']"; }
cat <<YML
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files:
  - $ROOT/infra/prometheus/alerts.yml
  - $ROOT/infra/prometheus/recording.yml
alerting:
  alertmanagers:
    - static_configs: [{ targets: ['127.0.0.1:$ALERTMANAGER_CLUSTER_PORT'] }]
scrape_configs:
  - job_name: parsl-usage-relay
    static_configs: [{ targets: $(targets "$RELAY_HTTP_BASE") }]
  - job_name: parsl-usage-aggregator
    static_configs: [{ targets: $(targets "$AGG_HTTP_BASE") }]
  - job_name: parsl-usage-dashboard
    static_configs: [{ targets: $(targets "$DASH_HTTP_BASE") }]
YML
