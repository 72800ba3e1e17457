import { hostname } from 'node:os';
import { z } from 'zod';
import { bool, kafkaBrokers, logLevel, port } from '@parsl-usage/common';
import { ConfigError } from './errors.js';

const positiveInt = z.coerce.number().int().positive();

const schema = z.object({
  RELAY_UDP_HOST: z.string().min(1).default('127.0.0.1'),
  RELAY_UDP_PORT: port.default(50_077),
  RELAY_RCVBUF_BYTES: positiveInt.default(8 * 1024 * 1024),
  RELAY_MAX_DATAGRAM_BYTES: positiveInt.max(65_507).default(8192),
  RELAY_WORKERS: positiveInt.max(256).default(1),
  // Set by the cluster primary for each worker, not by operators.
  RELAY_WORKER_INDEX: z.coerce.number().int().min(0).default(0),
  KAFKA_BROKERS: kafkaBrokers.default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).default('parsl-usage-relay'),
  RELAY_RAW_TOPIC: z.string().min(1).default('parsl.usage.raw'),
  RELAY_REJECTED_TOPIC: z.string().min(1).default('parsl.usage.rejected'),
  RELAY_REJECTED_MAX_BYTES: z.coerce.number().int().min(0).default(2048),
  RELAY_BATCH_MAX_MESSAGES: positiveInt.default(1000),
  RELAY_BATCH_MAX_MS: positiveInt.default(5),
  RELAY_RATE_PER_SOURCE: z.coerce.number().positive().default(50),
  RELAY_BURST_PER_SOURCE: positiveInt.default(200),
  RELAY_RATE_TABLE_MAX: positiveInt.default(100_000),
  RELAY_SPOOL_DIR: z.string().min(1).default('./.run/spool'),
  RELAY_SPOOL_MAX_BYTES: positiveInt.default(1024 * 1024 * 1024),
  RELAY_SPOOL_FSYNC: bool.default('true'),
  // After a failed publish, how long to let the request land before reading the topic back.
  RELAY_READBACK_SETTLE_MS: z.coerce.number().int().min(0).default(10_000),
  RELAY_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  RELAY_HTTP_PORT: port.default(9464),
  RELAY_INSTANCE_ID: z.string().min(1).optional(),
  LOG_LEVEL: logLevel,
});

export interface RelayConfig {
  udp: { host: string; port: number; rcvbufBytes: number; maxDatagramBytes: number };
  workers: number;
  workerIndex: number;
  kafka: { brokers: string[]; clientId: string };
  topics: { raw: string; rejected: string };
  rejectedMaxBytes: number;
  batch: { maxMessages: number; maxMs: number };
  rateLimit: { ratePerSec: number; burst: number; maxSources: number };
  spool: { dir: string; maxBytes: number; fsync: boolean };
  readbackSettleMs: number;
  http: { host: string; port: number };
  instanceId: string;
  logLevel: string;
}

/** Pure over `env`: every invalid variable is reported in one error, not just the first. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  // Empty strings count as unset, so `RELAY_UDP_PORT=` in a unit file does not become port 0.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(problems);
  }
  const c = parsed.data;
  return {
    udp: {
      host: c.RELAY_UDP_HOST,
      port: c.RELAY_UDP_PORT,
      rcvbufBytes: c.RELAY_RCVBUF_BYTES,
      maxDatagramBytes: c.RELAY_MAX_DATAGRAM_BYTES,
    },
    workers: c.RELAY_WORKERS,
    workerIndex: c.RELAY_WORKER_INDEX,
    kafka: { brokers: c.KAFKA_BROKERS, clientId: c.KAFKA_CLIENT_ID },
    topics: { raw: c.RELAY_RAW_TOPIC, rejected: c.RELAY_REJECTED_TOPIC },
    rejectedMaxBytes: c.RELAY_REJECTED_MAX_BYTES,
    batch: { maxMessages: c.RELAY_BATCH_MAX_MESSAGES, maxMs: c.RELAY_BATCH_MAX_MS },
    rateLimit: {
      ratePerSec: c.RELAY_RATE_PER_SOURCE,
      burst: c.RELAY_BURST_PER_SOURCE,
      maxSources: c.RELAY_RATE_TABLE_MAX,
    },
    spool: { dir: c.RELAY_SPOOL_DIR, maxBytes: c.RELAY_SPOOL_MAX_BYTES, fsync: c.RELAY_SPOOL_FSYNC },
    readbackSettleMs: c.RELAY_READBACK_SETTLE_MS,
    http: { host: c.RELAY_HTTP_HOST, port: c.RELAY_HTTP_PORT },
    instanceId: c.RELAY_INSTANCE_ID ?? `${hostname()}-${process.pid}`,
    logLevel: c.LOG_LEVEL,
  };
}
