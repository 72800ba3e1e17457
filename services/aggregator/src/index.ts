/**
 * The aggregator's public API: what the operator commands (services/ops) reuse to re-run the
 * stream processor and its provisioning. Loading it starts nothing (no client, no timer, no
 * file read); the process is src/main.ts. Tests, benchmarks and the kit reach every other module
 * as `@parsl-usage/aggregator/internal/<folder>/<module>`, which shipped code may not use.
 */
export { aggregatorEnvSchema, migrationsDirEnv, type AggregatorEnv } from './config.js';
export { JoinWindow } from './join/join-window.js';
export { factsOf, type WorkflowState } from './join/workflow-state.js';
export { processBatch, type RawMessage } from './pipeline/processor.js';
export { offsetOf, positionOf } from './position.js';
export { applyMigrations, loadMigrations } from './provision/migrate.js';
export { DEFAULT_MIGRATIONS_DIR, provision } from './provision/provision.js';
export { createClickHouseSink, type WorkflowSink } from './sink/clickhouse-sink.js';
