// The relay's environment (RELAY_*, KAFKA_*), validated into one RelayConfig.
import { hostname } from 'node:os';
import { z } from 'zod';
import { bool, kafkaBrokers, logLevel, parseEnv, port } from '@parsl-usage/common';

const positiveInt = z.coerce.number().int().positive();

/** Exported for docs/CONFIGURATION.md, which kit/src/config-reference.ts makes from it. */
export const relayEnvSchema = z.object({
  RELAY_UDP_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('address the UDP socket binds; 0.0.0.0 to take datagrams from the internet'),
  RELAY_UDP_PORT: port.default(50_077).describe("UDP port Parsl clients send to (Parsl's default is 50077)"),
  RELAY_RCVBUF_BYTES: positiveInt
    .default(8 * 1024 * 1024)
    .describe("bytes; the socket's kernel receive buffer (SO_RCVBUF, capped by net.core.rmem_max)"),
  RELAY_MAX_DATAGRAM_BYTES: positiveInt
    .max(65_507)
    .default(8192)
    .describe('bytes; longer datagrams are rejected, not published'),
  RELAY_WORKERS: positiveInt
    .max(256)
    .default(1)
    .describe('processes sharing the UDP port (node:cluster); 1 runs in one process'),
  // Set by the cluster primary for each worker, not by operators.
  RELAY_WORKER_INDEX: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('set by the cluster primary for each worker, never by operators'),
  KAFKA_BROKERS: kafkaBrokers
    .default('127.0.0.1:9092')
    .describe('comma-separated host:port of the Kafka bootstrap brokers'),
  KAFKA_CLIENT_ID: z.string().min(1).default('parsl-usage-relay').describe('client id the relay gives Kafka'),
  RELAY_RAW_TOPIC: z.string().min(1).default('parsl.usage.raw').describe('topic of accepted datagrams'),
  RELAY_REJECTED_TOPIC: z
    .string()
    .min(1)
    .default('parsl.usage.rejected')
    .describe('topic of rejected datagrams, with the reason'),
  RELAY_REJECTED_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(0)
    .default(2048)
    .describe('bytes of a rejected datagram kept in its rejected record'),
  RELAY_BATCH_MAX_MESSAGES: positiveInt.default(1000).describe('datagrams per Kafka produce request at most'),
  RELAY_PACK_MAX_DATAGRAMS: positiveInt
    .max(32_767)
    .default(1000)
    .describe('datagrams one Kafka record carries at most (a pack); 1 sends each in its own record'),
  RELAY_PACK_MAX_BYTES: positiveInt
    .max(1024 * 1024)
    .default(256 * 1024)
    .describe("bytes of datagrams one Kafka record carries at most; keep under the topic's max.message.bytes"),
  RELAY_BATCH_MAX_MS: positiveInt.default(5).describe('ms a datagram may wait for its batch to fill'),
  RELAY_RATE_PER_SOURCE: z.coerce
    .number()
    .positive()
    .default(50)
    .describe('datagrams per second one source address may send; more are dropped and counted'),
  RELAY_BURST_PER_SOURCE: positiveInt
    .default(200)
    .describe('datagrams a source may send at once above its rate (token bucket size)'),
  RELAY_RATE_TABLE_MAX: positiveInt
    .default(100_000)
    .describe('source addresses the rate limiter tracks at most'),
  RELAY_SPOOL_DIR: z
    .string()
    .min(1)
    .default('./.run/spool')
    .describe('directory of the disk spool that holds datagrams while Kafka is unreachable'),
  RELAY_SPOOL_MAX_BYTES: positiveInt
    .default(1024 * 1024 * 1024)
    .describe('bytes the spool may hold; past it new datagrams are dropped and counted'),
  RELAY_SPOOL_FSYNC: bool
    .default('true')
    .describe('fsync each spool write (true survives a power cut, false is faster)'),
  // After a failed publish, how long to let the request land before reading the topic back.
  RELAY_READBACK_SETTLE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10_000)
    .describe('ms after a failed publish before the topic is read back to see whether it landed'),
  RELAY_HTTP_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('address of /metrics and /health; keep it private'),
  RELAY_HTTP_PORT: port.default(9464).describe('port of /metrics and /health'),
  RELAY_INSTANCE_ID: z
    .string()
    .min(1)
    .optional()
    .describe('name in logs and metrics; default <hostname>-<pid>'),
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
  pack: { maxDatagrams: number; maxBytes: number };
  rateLimit: { ratePerSec: number; burst: number; maxSources: number };
  spool: { dir: string; maxBytes: number; fsync: boolean };
  readbackSettleMs: number;
  http: { host: string; port: number };
  instanceId: string;
  logLevel: string;
}

/**
 * Pure over `env`: every invalid variable is reported in one ConfigError, not just the first.
 * Through common's parseEnv: empty strings count as unset, so `RELAY_UDP_PORT=` in a unit file
 * does not become port 0.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): RelayConfig {
  const c = parseEnv('relay', relayEnvSchema, env);
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
    pack: { maxDatagrams: c.RELAY_PACK_MAX_DATAGRAMS, maxBytes: c.RELAY_PACK_MAX_BYTES },
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
