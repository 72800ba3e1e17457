import { z } from 'zod';
import {
  bool,
  clickhouseConnection,
  kafkaBrokers,
  kafkaTopic,
  logLevel,
  parseEnv,
  port,
} from '@parsl-usage/common';
import type { AppConfig } from './app.js';
import { DEFAULT_ZOOKEEPER_PREFIX } from './provision/replicated-ddl.js';

/**
 * MIGRATIONS_DIR, shared with the operator commands that read the migrations (restore,
 * forget-project): unset, the migrations shipped beside the code.
 */
export const migrationsDirEnv = {
  MIGRATIONS_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      'directory of the SQL migrations; default infra/clickhouse/migrations of this checkout or image',
    ),
};

/** Exported for docs/CONFIGURATION.md, which kit/src/config-reference.ts makes from it. */
export const aggregatorEnvSchema = z.object({
  KAFKA_BROKERS: kafkaBrokers
    .default('127.0.0.1:9092')
    .describe('comma-separated host:port of the Kafka bootstrap brokers'),
  KAFKA_CLIENT_ID: z
    .string()
    .min(1)
    .default('parsl-usage-aggregator')
    .describe('client id the aggregator gives Kafka'),
  AGG_GROUP_ID: z
    .string()
    .min(1)
    .default('parsl-usage-aggregator')
    .describe('Kafka consumer group; every aggregator of one pipeline shares it'),
  AGG_RAW_TOPIC: kafkaTopic
    .default('parsl.usage.raw')
    .describe("topic of accepted datagrams (the relay's RELAY_RAW_TOPIC)"),
  AGG_REJECTED_TOPIC: kafkaTopic
    .default('parsl.usage.rejected')
    .describe('topic undecodable records are moved to'),
  AGG_RAW_PARTITIONS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(6)
    .describe('partitions provisioning gives the raw topic: the most aggregators that can share the work'),
  // local development defaults: the aggregator writes as `ingest` (docs/SECURITY.md)
  ...clickhouseConnection({ user: 'ingest', password: 'ingest-dev-password' }),
  /** Kafka's own batching gives the flush bounds: an insert per partition per fetched batch. */
  AGG_FETCH_MAX_WAIT_MS: z.coerce
    .number()
    .int()
    .min(10)
    .max(60_000)
    .default(500)
    .describe('ms the broker may hold a fetch to fill it'),
  AGG_FETCH_MIN_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(65_536)
    .describe('bytes a fetch waits for (up to AGG_FETCH_MAX_WAIT_MS)'),
  /**
   * 1 MiB: a fetch of six partitions is then at most 6 MiB of datagrams, and the garbage of
   * decoding and inserting it stays small. Against 4 MiB, loading a million launches was faster
   * (63 s vs 76 s) with a lower RSS peak (598 vs 763 MiB); throughput was within the noise.
   */
  AGG_FETCH_MAX_BYTES_PER_PARTITION: z.coerce
    .number()
    .int()
    .min(1_024)
    .default(1_048_576)
    .describe('bytes one fetch takes from one partition at most'),
  AGG_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(7 * 86_400_000)
    .describe(
      'ms the in-memory join keeps a workflow open waiting for its end message; memory only: when a run counts as unfinished is decided in SQL (7 days, migrations 003 and 005)',
    ),
  AGG_MAX_OPEN_WORKFLOWS: z.coerce
    .number()
    .int()
    .min(1)
    .default(1_000_000)
    .describe('open workflows the join holds at most; past it the oldest are evicted'),
  /**
   * Workflow ids the stored-id filter is sized for (9.6 bits each: 20M is 24 MB). Past it the
   * filter lets more new ids through to a ClickHouse look-up; it never miscounts.
   */
  AGG_ID_FILTER_CAPACITY: z.coerce
    .number()
    .int()
    .min(1_000)
    .max(2_000_000_000)
    .default(20_000_000)
    .describe('workflow ids the stored-id filter is sized for'),
  /**
   * Partitions processed at once (6 = every partition of the default topic). Their rows share one
   * insert per table (group-insert.ts), so more partitions in flight means larger inserts, not
   * more of them; each partition still has one batch in flight, so per-partition order holds.
   */
  AGG_PARTITIONS_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .max(64)
    .default(6)
    .describe('partitions processed at once; their rows share one insert per table (group commit)'),
  /**
   * How long a ready insert may wait for the other partitions of the same fetch, so that they
   * share it (group-insert.ts); 0 sends each group as soon as it is ready.
   */
  AGG_INSERT_GATHER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(250)
    .describe('ms a ready insert waits for the other partitions of the same fetch; 0 sends at once'),
  /**
   * How long the group waits for a silent member before giving its partitions to the others: after a
   * crash, the restarted aggregator gets its partitions back only then (kafkajs' own default, 30 s,
   * kept the lag above a minute when chaos runs killed it every 20 s). Batches heartbeat while
   * they wait on ClickHouse or stream ids, so it only has to outlast one insert.
   */
  AGG_SESSION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(6_000)
    .max(300_000)
    .default(10_000)
    .describe('ms the consumer group waits for a silent member before moving its partitions'),
  AGG_HTTP_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('address of /metrics and /health; keep it private'),
  AGG_HTTP_PORT: port.default(9465).describe('port of /metrics and /health'),
  AGG_MIGRATE_ON_START: bool
    .default('false')
    .describe('create the topics and apply the migrations before consuming (one aggregator at a time)'),
  /**
   * The cluster shape (SCALING.md): the HTTP URLs of the other ClickHouse replicas of the shard,
   * comma-separated. Set, migrations make Replicated* tables (replicated-ddl.ts) and run their DDL
   * on CLICKHOUSE_URL and on each of these; empty, the single-server schema.
   */
  CLICKHOUSE_OTHER_REPLICAS: z
    .string()
    .default('')
    .transform((s) =>
      s
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^https?:\/\/\S+$/, 'must be comma-separated http(s) URLs')))
    .describe("cluster shape only: comma-separated HTTP URLs of the shard's other replicas"),
  /** ZooKeeper path prefix of the replicated tables; {shard} is the server's macro. */
  CLICKHOUSE_ZOOKEEPER_PREFIX: z
    .string()
    .regex(/^\/[\w{}/.-]*$/, 'must be a ZooKeeper path')
    .default(DEFAULT_ZOOKEEPER_PREFIX)
    .describe('cluster shape only: ZooKeeper path prefix of the replicated tables'),
  /** Replication of the topics provisioning creates: 3 and 2 on a three-broker cluster, 1 and 1 on one broker. */
  KAFKA_REPLICATION_FACTOR: z.coerce
    .number()
    .int()
    .min(1)
    .max(16)
    .default(1)
    .describe('replication of the topics provisioning creates (3 on a three-broker cluster)'),
  KAFKA_MIN_INSYNC_REPLICAS: z.coerce
    .number()
    .int()
    .min(1)
    .max(16)
    .default(1)
    .describe('min.insync.replicas of the topics provisioning creates (2 on a three-broker cluster)'),
  /** Bounded, so a one-shot job started together with the servers (docker-compose) outlives their cold start. */
  PROVISION_WAIT_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .default(120_000)
    .describe(
      'ms provisioning (AGG_MIGRATE_ON_START, npm run migrate) waits for Kafka and ClickHouse to accept connections',
    ),
  ...migrationsDirEnv,
  LOG_LEVEL: logLevel,
});

/** The variables by name, as validated: provisioning takes them so, shared with `npm run migrate`. */
export type AggregatorEnv = z.infer<typeof aggregatorEnvSchema>;

/** What the process runs with, by concern; every variable keeps its name and default above. */
export interface AggregatorConfig {
  kafka: {
    brokers: string[];
    clientId: string;
    groupId: string;
    fetch: { maxWaitMs: number; minBytes: number; maxBytesPerPartition: number };
    sessionTimeoutMs: number;
  };
  clickhouse: { url: string; user: string; password: string; database: string; migrationsDir?: string };
  /** What createApp takes: topics, the join's bounds, group commit, /metrics and /health. */
  app: Required<AppConfig>;
  migrateOnStart: boolean;
  logLevel: AggregatorEnv['LOG_LEVEL'];
  /** Provisioning's inputs (AGG_MIGRATE_ON_START), the same variables `npm run migrate` reads. */
  provisioning: AggregatorEnv;
}

/** Validates the environment; one ConfigError (services/common) lists every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): AggregatorConfig {
  const c = parseEnv('aggregator', aggregatorEnvSchema, env);
  return {
    kafka: {
      brokers: c.KAFKA_BROKERS,
      clientId: c.KAFKA_CLIENT_ID,
      groupId: c.AGG_GROUP_ID,
      fetch: {
        maxWaitMs: c.AGG_FETCH_MAX_WAIT_MS,
        minBytes: c.AGG_FETCH_MIN_BYTES,
        maxBytesPerPartition: c.AGG_FETCH_MAX_BYTES_PER_PARTITION,
      },
      sessionTimeoutMs: c.AGG_SESSION_TIMEOUT_MS,
    },
    clickhouse: {
      url: c.CLICKHOUSE_URL,
      user: c.CLICKHOUSE_USER,
      password: c.CLICKHOUSE_PASSWORD,
      database: c.CLICKHOUSE_DATABASE,
      ...(c.MIGRATIONS_DIR ? { migrationsDir: c.MIGRATIONS_DIR } : {}),
    },
    app: {
      rawTopic: c.AGG_RAW_TOPIC,
      rejectedTopic: c.AGG_REJECTED_TOPIC,
      windowMs: c.AGG_WINDOW_MS,
      maxOpenWorkflows: c.AGG_MAX_OPEN_WORKFLOWS,
      partitionsConcurrency: c.AGG_PARTITIONS_CONCURRENCY,
      insertGatherMs: c.AGG_INSERT_GATHER_MS,
      idFilterCapacity: c.AGG_ID_FILTER_CAPACITY,
      httpHost: c.AGG_HTTP_HOST,
      httpPort: c.AGG_HTTP_PORT,
    },
    migrateOnStart: c.AGG_MIGRATE_ON_START,
    logLevel: c.LOG_LEVEL,
    provisioning: c,
  };
}
