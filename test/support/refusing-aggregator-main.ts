/**
 * An aggregator process wired as services/aggregator/src/main.ts wires it, but with
 * refusingDecode (refusing-decode.ts), for tests that SIGKILL it in the middle of an isolation.
 * Runs from the built packages: node --import tsx test/support/refusing-aggregator-main.ts
 */
import { createClient } from '@clickhouse/client';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { createApp } from '@parsl-usage/aggregator/internal/app';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { Metrics } from '@parsl-usage/common';
import { refusingDecode } from './refusing-decode.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set`);
  return v;
};
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info' });
const clickhouse = createClient({
  url: env('CLICKHOUSE_URL'),
  username: 'admin',
  password: 'admin-dev-password',
});
const kafka = new Kafka({
  clientId: 'refusing-aggregator',
  brokers: env('KAFKA_BROKERS').split(','),
  logLevel: logLevel.NOTHING,
});
const app = createApp({
  config: {
    rawTopic: env('RAW_TOPIC'),
    rejectedTopic: env('REJECTED_TOPIC'),
    windowMs: 7 * 86_400_000, // ms
    maxOpenWorkflows: 100_000,
    httpHost: '127.0.0.1',
    // HTTP_PORT: where Prometheus scrapes it (test/alerts-e2e.test.ts); 0 picks any free port.
    httpPort: Number(process.env.HTTP_PORT ?? 0),
  },
  logger,
  consumer: kafka.consumer({
    groupId: env('GROUP_ID'),
    maxWaitTimeInMs: 100,
    minBytes: 1,
    sessionTimeout: 6_000, // ms: the restarted process gets the partition back soon after a SIGKILL
    heartbeatInterval: 2_000, // ms
  }),
  producer: kafka.producer({ allowAutoTopicCreation: false }),
  sink: createClickHouseSink(clickhouse, env('DATABASE')),
  decode: refusingDecode,
  metrics: new Metrics(),
  onFatal: () => process.exit(1),
});
await app.start();
