import { setTimeout as sleep } from 'node:timers/promises';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { AggregatorEnv } from '../config.js';
import { FatalError } from '../errors.js';
import { DEFAULT_MIGRATIONS_DIR, applyMigrations } from './migrate.js';
import { ensureTopics, pipelineTopics } from './topics.js';

export { DEFAULT_MIGRATIONS_DIR } from './migrate.js';

/**
 * Retries `attempt` with exponential backoff (0.5 s doubling up to 8 s) until it succeeds or
 * `deadlineMs` has passed since the first try; then throws the last error. Meant for "is the
 * server accepting connections yet", not for the work itself: a failing migration is never retried.
 */
export async function waitUntilReady<T>(
  what: string,
  attempt: () => Promise<T>,
  opts: { deadlineMs: number; logger: Logger },
): Promise<T> {
  const started = Date.now();
  let delayMs = 500;
  for (let n = 1; ; n++) {
    try {
      const value = await attempt();
      if (n > 1) opts.logger.info({ attempts: n, waitedMs: Date.now() - started }, `${what} is ready`);
      return value;
    } catch (err) {
      const elapsed = Date.now() - started;
      const reason = err instanceof Error ? err.message : String(err);
      if (elapsed + delayMs > opts.deadlineMs) {
        const limit = `${Math.round(opts.deadlineMs / 1000)} s`;
        throw new Error(`${what} did not accept connections within ${limit}: ${reason}`, { cause: err });
      }
      opts.logger.info({ attempt: n, elapsedMs: elapsed, retryInMs: delayMs, reason }, `waiting for ${what}`);
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, 8_000);
    }
  }
}

interface ProvisionOptions {
  config: AggregatorEnv;
  kafka: Kafka;
  clickhouse: ClickHouseClient;
  logger: Logger;
  migrationsDir?: string;
  /** Upper bound on waiting for the servers; defaults to the config's PROVISION_WAIT_MS. */
  waitMs?: number;
  /** The other replicas, one client per URL of CLICKHOUSE_OTHER_REPLICAS (the cluster shape). */
  otherReplicas?: ClickHouseClient[];
}

/**
 * Creates the Kafka topics and applies the ClickHouse migrations; safe to run any number of times.
 * First waits (bounded by PROVISION_WAIT_MS) for both servers to accept connections, so that a
 * one-shot job started together with them (docker-compose) does not fail on a cold start.
 */
export async function provision(opts: ProvisionOptions): Promise<void> {
  const { config, kafka, clickhouse, logger } = opts;
  const deadlineMs = opts.waitMs ?? config.PROVISION_WAIT_MS;

  const others = opts.otherReplicas ?? [];
  // A caller that does not pass the replicas (AGG_MIGRATE_ON_START) would apply the single-server
  // shape to one replica of a cluster: refuse rather than diverge.
  if (others.length !== config.CLICKHOUSE_OTHER_REPLICAS.length) {
    throw new FatalError(
      `CLICKHOUSE_OTHER_REPLICAS lists ${config.CLICKHOUSE_OTHER_REPLICAS.length} replicas but ${others.length} clients were given: provision a cluster with migrate-cli`,
    );
  }
  await waitForClickHouse(config, [clickhouse, ...others], { deadlineMs, logger });
  const admin = await waitForKafka(config, kafka, { deadlineMs, logger });
  try {
    await createTopics(config, admin, logger);
  } finally {
    await admin.disconnect();
  }
  const r = await applyMigrations(clickhouse, {
    database: config.CLICKHOUSE_DATABASE,
    dir: config.MIGRATIONS_DIR ?? opts.migrationsDir ?? DEFAULT_MIGRATIONS_DIR,
    log: (m) => logger.info(m),
    ...(others.length > 0
      ? { cluster: { otherReplicas: others, zooKeeperPrefix: config.CLICKHOUSE_ZOOKEEPER_PREFIX } }
      : {}),
  });
  logger.info(r, 'clickhouse migrations applied');
}

/** Every replica, CLICKHOUSE_URL first, answers a ping. */
async function waitForClickHouse(
  config: AggregatorEnv,
  clients: ClickHouseClient[],
  wait: { deadlineMs: number; logger: Logger },
): Promise<void> {
  const urls = [config.CLICKHOUSE_URL, ...config.CLICKHOUSE_OTHER_REPLICAS];
  for (const [i, client] of clients.entries()) {
    await waitUntilReady(
      `ClickHouse at ${urls[i] ?? 'another replica'}`,
      async () => {
        const r = await client.ping();
        if (!r.success) throw r.error;
      },
      wait,
    );
  }
}

/** A connected admin client of a cluster that has a controller; the caller disconnects it. */
function waitForKafka(
  config: AggregatorEnv,
  kafka: Kafka,
  wait: { deadlineMs: number; logger: Logger },
): Promise<Admin> {
  return waitUntilReady(
    `Kafka at ${config.KAFKA_BROKERS.join(',')}`,
    async () => {
      const a = kafka.admin();
      try {
        await a.connect();
        // A broker that accepts TCP but has no controller yet answers metadata requests badly.
        await a.describeCluster();
        return a;
      } catch (err) {
        await a.disconnect().catch(() => undefined);
        throw err;
      }
    },
    wait,
  );
}

async function createTopics(config: AggregatorEnv, admin: Admin, logger: Logger): Promise<void> {
  const created = await ensureTopics(
    admin,
    pipelineTopics(
      { raw: config.AGG_RAW_TOPIC, rejected: config.AGG_REJECTED_TOPIC },
      config.AGG_RAW_PARTITIONS,
    ),
    {
      replicationFactor: config.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: config.KAFKA_MIN_INSYNC_REPLICAS,
    },
  );
  logger.info({ created }, 'kafka topics ensured');
}
