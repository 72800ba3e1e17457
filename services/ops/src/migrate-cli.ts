/**
 * Creates the Kafka topics and applies the ClickHouse migrations (safe to run again):
 *   node services/aggregator/dist/migrate-cli.js
 * Migrations need DDL rights: it runs as admin (local dev default admin / admin-dev-password;
 * CLICKHOUSE_USER, CLICKHOUSE_PASSWORD override). Other settings as the aggregator's (config.ts).
 */
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { clickhouseClient, runCli } from '@parsl-usage/common/cli-frame';
import { provision } from '@parsl-usage/aggregator';
import { loadMigrateConfig } from './migrate-config.js';

const HELP = `usage: migrate-cli

Creates the Kafka topics and applies the SQL migrations of infra/clickhouse/migrations
(checksummed in schema_migrations: safe to run any number of times).

Environment: CLICKHOUSE_URL (http://127.0.0.1:8123), CLICKHOUSE_USER (admin),
CLICKHOUSE_PASSWORD (local dev default admin-dev-password) or CLICKHOUSE_PASSWORD_FILE,
CLICKHOUSE_DATABASE (parsl_usage), KAFKA_BROKERS (127.0.0.1:9092), AGG_RAW_TOPIC, AGG_REJECTED_TOPIC, AGG_RAW_PARTITIONS,
PROVISION_WAIT_MS (how long to wait for the servers, 120000), MIGRATIONS_DIR, LOG_LEVEL.
Every variable: docs/CONFIGURATION.md.
Cluster shape (SCALING.md): CLICKHOUSE_OTHER_REPLICAS (the other replicas' URLs, comma-separated:
Replicated* tables, DDL on every replica), CLICKHOUSE_ZOOKEEPER_PREFIX (/clickhouse/tables/{shard}),
KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS (1 and 1; 3 and 2 on three brokers).
Exit codes: 0 done, 1 failed, 2 bad environment.`;

await runCli({
  name: 'migrate',
  help: HELP,
  options: {},
  run: async (_values, env) => {
    const c = loadMigrateConfig(env);
    const logger = pino({ level: c.LOG_LEVEL, base: { service: 'migrate' } });
    const clickhouse = clickhouseClient({ ...c, LOG_LEVEL: c.LOG_LEVEL });
    const otherReplicas = c.CLICKHOUSE_OTHER_REPLICAS.map((url) =>
      clickhouseClient({ ...c, CLICKHOUSE_URL: url }),
    );
    const kafka = new Kafka({
      clientId: 'parsl-usage-migrate',
      brokers: c.KAFKA_BROKERS,
      logLevel: c.LOG_LEVEL === 'debug' || c.LOG_LEVEL === 'trace' ? logLevel.WARN : logLevel.NOTHING,
    });
    try {
      await provision({ config: c, kafka, clickhouse, logger, otherReplicas });
    } finally {
      for (const client of [clickhouse, ...otherReplicas]) await client.close();
    }
  },
});
