import { clickhouseUrl, kafkaBrokers } from '../setup/env.js';

/**
 * The environment of the relay and aggregator processes that the end-to-end tests start
 * (spawnService), against the harness's Kafka and ClickHouse and a test's own topics and
 * database. The aggregator writes as admin, since each test's database is a fresh one that
 * `ingest` (allowed parsl_usage only) may not touch.
 */
export function relayEnv(o: {
  udpPort: number;
  httpPort: number;
  topics: { raw: string; rejected: string };
  spoolDir: string;
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    KAFKA_BROKERS: kafkaBrokers().join(','),
    RELAY_UDP_PORT: String(o.udpPort),
    RELAY_HTTP_PORT: String(o.httpPort),
    RELAY_RAW_TOPIC: o.topics.raw,
    RELAY_REJECTED_TOPIC: o.topics.rejected,
    RELAY_SPOOL_DIR: o.spoolDir,
    ...o.extra,
  };
}

export function aggregatorEnv(o: {
  httpPort: number;
  topics: { raw: string; rejected: string };
  database: string;
}): Record<string, string> {
  return {
    KAFKA_BROKERS: kafkaBrokers().join(','),
    AGG_RAW_TOPIC: o.topics.raw,
    AGG_REJECTED_TOPIC: o.topics.rejected,
    AGG_GROUP_ID: `${o.topics.raw}-aggregator`,
    AGG_HTTP_PORT: String(o.httpPort),
    CLICKHOUSE_URL: clickhouseUrl(),
    CLICKHOUSE_USER: 'admin',
    CLICKHOUSE_PASSWORD: 'admin-dev-password',
    CLICKHOUSE_DATABASE: o.database,
  };
}
