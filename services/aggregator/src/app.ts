import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { DecodeOutcome, MessageMeta } from '@parsl-usage/schemas';
import type { WorkflowSink } from './clickhouse-sink.js';
import { withRetry } from './errors.js';
import { createHealthServer } from './http-server.js';
import { JoinWindow } from './join-window.js';
import type { Metrics } from './metrics.js';
import { processBatch, type RawMessage, type RejectedMessage } from './processor.js';

export interface AggregatorDeps {
  config: {
    rawTopic: string;
    rejectedTopic: string;
    windowMs: number;
    maxOpenWorkflows: number;
    httpHost: string;
    httpPort: number;
  };
  logger: Logger;
  consumer: Consumer;
  /** publishes undecodable messages to the rejected topic */
  producer: Producer;
  sink: WorkflowSink;
  decode: (bytes: Buffer, meta: MessageMeta) => DecodeOutcome;
  metrics: Metrics;
  now?: () => number;
}

export interface AggregatorApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  isHealthy(): boolean;
  /** the port the health server listens on */
  readonly httpPort: number;
}

function receivedAt(m: EachBatchPayload['batch']['messages'][number]): number {
  const h = m.headers?.received_at_ms;
  const v = Number(Array.isArray(h) ? h[0]?.toString() : h?.toString());
  return Number.isSafeInteger(v) && v > 0 ? v : Number(m.timestamp);
}

export function createApp(deps: AggregatorDeps): AggregatorApp {
  const { logger, consumer, producer, sink, metrics, config } = deps;
  const now = deps.now ?? Date.now;
  const window = new JoinWindow({ maxEntries: config.maxOpenWorkflows, windowMs: config.windowMs });
  let watermarks: Map<number, bigint> | null = null;
  let running = false;
  let stopping: Promise<void> | null = null;
  let crashed = false;
  let lastBatchAt = 0;
  let httpPort = 0;
  const health = createHealthServer({
    host: config.httpHost,
    port: config.httpPort,
    health: () => ({
      healthy: isHealthy(),
      detail: { running, crashed, openWorkflows: window.size, lastBatchAt },
    }),
    metrics: () => {
      metrics.set('aggregator_open_workflows', 'workflows held in the join window', window.size);
      return metrics.render();
    },
  });

  function isHealthy(): boolean {
    return running && !crashed;
  }

  async function publishRejected(rejected: RejectedMessage[]): Promise<void> {
    if (rejected.length === 0) return;
    await producer.send({
      topic: config.rejectedTopic,
      acks: -1,
      messages: rejected.map((r) => ({
        key: null,
        value: r.value,
        headers: {
          reason: r.reason,
          detail: r.detail,
          stage: 'aggregator',
          source_topic: config.rawTopic,
          source_partition: String(r.partition),
          source_offset: r.offset,
        },
      })),
    });
    for (const r of rejected)
      metrics.inc('aggregator_rejected_total', 'messages that failed to decode', 1, { reason: r.reason });
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale()) return;
    const partition = batch.partition;
    // The sink is the source of truth for what was applied; read it once per assignment.
    watermarks ??= await withRetry(() => sink.watermarks(), {
      attempts: 10,
      baseDelayMs: 200,
      maxDelayMs: 5_000,
      onRetry: (err, attempt) => logger.warn({ err, attempt }, 'watermark query failed; retrying'),
    });
    const watermark = watermarks.get(partition) ?? -1n;
    const messages: RawMessage[] = batch.messages.map((m) => ({
      offset: m.offset,
      value: m.value,
      receivedAtMs: receivedAt(m),
    }));
    const t0 = now();
    const result = await processBatch(
      { decode: deps.decode, sink, window },
      partition,
      messages,
      watermark,
      t0,
    );
    await payload.heartbeat();
    // Rejections first: if the insert then fails, they are republished on replay (at least once),
    // while accepted data is never lost and never doubled.
    await withRetry(() => publishRejected(result.rejected), {
      attempts: 5,
      baseDelayMs: 200,
      maxDelayMs: 5_000,
    });
    // A failed insert may still have landed (the reply was lost): look before inserting again,
    // or the retry would double the batch.
    const lastRowOffset =
      result.rows.length > 0 ? BigInt(result.rows[result.rows.length - 1]!.kafka_offset) : -1n;
    let attempted = false;
    const insertOnce = async (): Promise<void> => {
      if (attempted) {
        const held = (await sink.watermarks()).get(partition) ?? -1n;
        if (held >= lastRowOffset) return;
      }
      attempted = true;
      await sink.insertChanges(result.rows);
    };
    await withRetry(insertOnce, {
      attempts: 8,
      baseDelayMs: 200,
      maxDelayMs: 10_000,
      onRetry: (err, attempt) => logger.warn({ err, attempt, partition }, 'insert failed; retrying'),
    });
    window.markFlushed(partition);
    if (result.lastOffset !== null) {
      const next = (BigInt(result.lastOffset) + 1n).toString();
      payload.resolveOffset(result.lastOffset);
      await consumer.commitOffsets([{ topic: batch.topic, partition, offset: next }]);
      if (BigInt(result.lastOffset) > watermark) watermarks.set(partition, BigInt(result.lastOffset));
    }
    window.evict(now());
    lastBatchAt = now();
    metrics.inc('aggregator_messages_total', 'messages consumed', messages.length);
    metrics.inc('aggregator_events_total', 'decoded events applied', result.events);
    metrics.inc('aggregator_duplicates_total', 'events that changed nothing', result.unchanged);
    metrics.inc('aggregator_replayed_skipped_total', 'messages already in ClickHouse', result.skipped);
    metrics.inc('aggregator_rows_inserted_total', 'change rows inserted', result.rows.length);
    metrics.inc('aggregator_inserts_total', 'inserts into workflow_changes', result.rows.length > 0 ? 1 : 0);
    logger.debug(
      { partition, messages: messages.length, rows: result.rows.length, ms: now() - t0 },
      'batch applied',
    );
  }

  return {
    get httpPort() {
      return httpPort;
    },
    async start() {
      httpPort = await health.start();
      await producer.connect();
      await consumer.connect();
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        // Another instance may have changed the partitions we held: forget everything cached.
        window.clear();
        watermarks = null;
        logger.info({ assignment: e.payload.memberAssignment }, 'joined consumer group');
      });
      consumer.on(consumer.events.CRASH, (e) => {
        window.clear();
        watermarks = null;
        crashed = !e.payload.restart;
        logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
      });
      await consumer.subscribe({ topic: config.rawTopic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async (payload) => {
          try {
            await eachBatch(payload);
          } catch (err) {
            // Unflushed state of this batch is gone with the throw; kafkajs restarts from the committed offsets.
            window.clear();
            watermarks = null;
            logger.error(
              { err, partition: payload.batch.partition },
              'batch failed; consumer will restart from committed offsets',
            );
            throw err;
          }
        },
      });
      running = true;
      logger.info({ topic: config.rawTopic, httpPort }, 'aggregator started');
    },
    stop() {
      stopping ??= (async () => {
        running = false;
        // kafkajs finishes the batch in hand (its insert and commit) before disconnect resolves.
        await consumer.disconnect();
        await producer.disconnect();
        await health.stop();
        logger.info('aggregator stopped');
      })();
      return stopping;
    },
    isHealthy,
  };
}
