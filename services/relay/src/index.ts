/**
 * The relay's public API: what it takes to run a relay in a process of one's own (a config from
 * the environment, a Kafka publisher, the app). Loading it starts nothing (no socket, no client,
 * no timer); the process is src/main.ts. Tests, benchmarks and the kit reach every other module
 * as `@parsl-usage/relay/internal/<module>`, which shipped code may not use.
 */
export { createApp, type AppDeps, type HealthReport, type RelayApp } from './app.js';
export { loadConfig, relayEnvSchema, type RelayConfig } from './config.js';
export { KafkaPublisher, type KafkaPublisherOptions, type Publisher } from './publisher.js';
