import { pino } from 'pino';
import { decodeDatagram } from '@parsl-usage/schemas';
import { createApp, type AggregatorApp } from '@parsl-usage/aggregator/internal/app';
import { createClickHouseSink } from '@parsl-usage/aggregator/internal/sink/clickhouse-sink';
import { Metrics } from '@parsl-usage/common';
import { clickhouse, freshName, kafka } from '../setup/env.js';

/** An aggregator running in this process against the harness's Kafka and ClickHouse. */
export async function startAggregator(opts: {
  database: string;
  topics: { raw: string; rejected: string };
  groupId?: string;
  windowMs?: number;
  maxOpenWorkflows?: number;
  now?: () => number;
  /** Replaces the decoder (e.g. refusing-decode.ts, to make ClickHouse refuse chosen rows). */
  decode?: typeof decodeDatagram;
}): Promise<{ app: AggregatorApp; metrics: Metrics; stop: () => Promise<void> }> {
  const ch = clickhouse('admin');
  const k = kafka(freshName('agg'));
  const metrics = new Metrics();
  const app = createApp({
    config: {
      rawTopic: opts.topics.raw,
      rejectedTopic: opts.topics.rejected,
      windowMs: opts.windowMs ?? 7 * 86_400_000,
      maxOpenWorkflows: opts.maxOpenWorkflows ?? 100_000,
      // As in production (AGG_PARTITIONS_CONCURRENCY): partitions interleave.
      partitionsConcurrency: 3,
      httpHost: '127.0.0.1',
      httpPort: 0,
    },
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    consumer: k.consumer({ groupId: opts.groupId ?? freshName('group'), maxWaitTimeInMs: 100, minBytes: 1 }),
    producer: k.producer({ allowAutoTopicCreation: false }),
    sink: createClickHouseSink(ch, opts.database),
    decode: opts.decode ?? decodeDatagram,
    metrics,
    ...(opts.now ? { now: opts.now } : {}),
  });
  await app.start();
  return {
    app,
    metrics,
    stop: async () => {
      await app.stop();
      await ch.close();
    },
  };
}
