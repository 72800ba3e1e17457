import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AggregatorConfig } from './config.js';
import { applyMigrations } from './migrate.js';
import { ensureTopics, pipelineTopics } from './topics.js';

export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(
  new URL('../../../infra/clickhouse/migrations', import.meta.url),
);

/** Creates the Kafka topics and applies the ClickHouse migrations; safe to run any number of times. */
export async function provision(opts: {
  config: AggregatorConfig;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  logger: Logger;
  migrationsDir?: string;
}): Promise<void> {
  const { config, kafka, clickhouse, logger } = opts;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const created = await ensureTopics(
      admin,
      pipelineTopics(
        { raw: config.AGG_RAW_TOPIC, rejected: config.AGG_REJECTED_TOPIC },
        config.AGG_RAW_PARTITIONS,
      ),
    );
    logger.info({ created }, 'kafka topics ensured');
  } finally {
    await admin.disconnect();
  }
  const r = await applyMigrations(clickhouse, {
    database: config.CLICKHOUSE_DATABASE,
    dir: process.env.MIGRATIONS_DIR ?? opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR,
    log: (m) => logger.info(m),
  });
  logger.info(r, 'clickhouse migrations applied');
}
