import type { Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { DecodeOutcome, MessageMeta } from '@parsl-usage/schemas';
import type { WorkflowSink } from './clickhouse-sink.js';
import { RefusedError, TransientError, settleAll, withRetry } from './errors.js';
import { isolate, type IsolationOutcome } from './isolation.js';
import { createHealthServer } from './http-server.js';
import { GroupInsert } from './group-insert.js';
import { IdFilter } from './id-filter.js';
import { JoinWindow } from './join-window.js';
import type { Metrics } from '@parsl-usage/common';
import {
  processBatch,
  type BatchResult,
  type RawMessage,
  type RejectedMessage,
  type Watermark,
} from './processor.js';

export interface AggregatorDeps {
  config: {
    rawTopic: string;
    rejectedTopic: string;
    windowMs: number;
    maxOpenWorkflows: number;
    /** partitions whose batches are processed at the same time (default 1) */
    partitionsConcurrency?: number;
    /** See AGG_INSERT_GATHER_MS; 0 (the default here) sends each insert as soon as it can. */
    insertGatherMs?: number;
    /** workflow ids the stored-id filter is sized for (default 20,000,000: 24 MB) */
    idFilterCapacity?: number;
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
  /**
   * The consumer crashed and kafkajs will not restart it: the process must end (non-zero) so
   * that its supervisor restarts it, rather than live on with no partition consumed.
   */
  onFatal?: (err: unknown) => void;
  /** Polls the consumer lag from the brokers (lag-monitor.ts); started after the consumer. */
  lagMonitor?: { start(): Promise<void>; stop(): Promise<void> };
}

export interface AggregatorApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  isHealthy(): boolean;
  /** the port the health server listens on */
  readonly httpPort: number;
}

/** Messages left in a partition after a fetch that mean a backlog is draining. */
const BACKLOG_MESSAGES = 1_000n;

function receivedAt(m: EachBatchPayload['batch']['messages'][number]): number {
  const h = m.headers?.received_at_ms;
  const v = Number(Array.isArray(h) ? h[0]?.toString() : h?.toString());
  return Number.isSafeInteger(v) && v > 0 ? v : Number(m.timestamp);
}

export function createApp(deps: AggregatorDeps): AggregatorApp {
  const { logger, consumer, producer, sink, metrics, config } = deps;
  const now = deps.now ?? Date.now;
  const window = new JoinWindow({ maxEntries: config.maxOpenWorkflows, windowMs: config.windowMs });
  let watermarks: Map<number, Watermark> | null = null;
  // Batches between receipt and their change rows' submission: while any is, the change rows
  // already submitted wait for it (up to insertGatherMs), so that a fetch's partitions share
  // one insert instead of the first going alone.
  let processing = 0;
  // Partitions whose last fetch left a backlog behind it. While any has one, the gather is off:
  // draining a backlog, overlapping one partition's insert with the others' processing is worth
  // more than one insert per fetch (about 7 % of catch-up speed, BENCHMARKS.md), and freshness
  // is the backlog's anyway.
  const behind = new Set<number>();
  // One insert per table at a time, carrying every partition's rows that are ready (group-insert.ts).
  const eventWrites = new GroupInsert((rows: Parameters<typeof sink.insertEvents>[0]) =>
    sink.insertEvents(rows),
  );
  const changeWrites = new GroupInsert(
    async (rows: Parameters<typeof sink.insertChanges>[0]) => {
      await sink.insertChanges(rows);
      metrics.inc('aggregator_inserts_total', 'inserts into workflow_changes', 1);
    },
    { holdWhile: () => processing > 0 && behind.size === 0, maxHoldMs: config.insertGatherMs ?? 0 },
  );
  const filterCapacity = config.idFilterCapacity ?? 20_000_000;
  // The filter only grows for the life of the process (id-filter.ts); a group join rebuilds it
  // from ClickHouse, for the ids other instances wrote, and ORs the old bits back in.
  let filter: IdFilter | null = null;
  let filterReady: Promise<void> | null = null;
  // Batches read the current filter through this, so an id added while a rebuild runs lands in
  // the old bits, which the rebuild then carries over.
  const currentFilter = {
    mightContain: (id: string) => filter?.mightContain(id) ?? true,
    add: (id: string) => filter?.add(id),
  };
  let lastEvictAt = 0;
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
      metrics.set(
        'aggregator_consumer_up',
        '1 while the consumer runs and has not crashed',
        isHealthy() ? 1 : 0,
      );
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

  /**
   * Retries a sink operation for as long as the failure is transient: a ClickHouse outage
   * pauses this partition (heartbeating, so the group keeps it here) instead of crash-looping.
   */
  function untilDone<T>(payload: EachBatchPayload, what: string, op: () => Promise<T>): Promise<T> {
    return withRetry(op, {
      attempts: Number.POSITIVE_INFINITY,
      baseDelayMs: 200,
      maxDelayMs: 30_000,
      onRetry: (err, attempt) => {
        metrics.inc('aggregator_sink_retries_total', 'retried ClickHouse operations', 1, { op: what });
        logger.warn(
          { err, attempt, partition: payload.batch.partition, op: what },
          'ClickHouse unavailable; retrying',
        );
      },
      sleep: async (ms) => {
        await new Promise((r) => setTimeout(r, ms));
        // Retriable, so that kafkajs restarts the consumer instead of leaving it crashed.
        if (!payload.isRunning() || payload.isStale())
          throw new TransientError('consumer stopping; abandoning batch');
        await payload.heartbeat();
      },
    });
  }

  /** Inserts once: after a failed attempt, the sink is asked whether the rows landed before trying again. */
  async function insertOnce(
    payload: EachBatchPayload,
    what: 'changes' | 'events',
    rows: { kafka_offset: string }[],
    insert: () => Promise<void>,
  ): Promise<void> {
    if (rows.length === 0) return;
    const last = BigInt(rows[rows.length - 1]?.kafka_offset ?? '-1');
    let attempted = false;
    const t0 = now();
    await untilDone(payload, `insert ${what}`, async () => {
      if (attempted) {
        const held = (await sink.watermarks()).get(payload.batch.partition);
        if (held && held[what] >= last) return;
      }
      attempted = true;
      await insert();
    });
    metrics.observe('aggregator_insert_seconds', 'ClickHouse insert latency', (now() - t0) / 1000, {
      table: what,
    });
  }

  function ensureFilter(payload: EachBatchPayload): Promise<void> {
    filterReady ??= untilDone(payload, 'stored ids', async () => {
      const t0 = now();
      const fresh = new IdFilter({ capacity: filterCapacity });
      // Tens of millions of ids take tens of seconds: keep the group membership alive meanwhile
      // (kafkajs sends at most one heartbeat per heartbeatInterval, so calling often is cheap).
      const stored = await sink.forEachStoredId(
        (id) => fresh.add(id),
        () => payload.heartbeat(),
      );
      if (filter !== null) fresh.union(filter);
      filter = fresh;
      const fill = fresh.fill;
      metrics.set('aggregator_id_filter_fill_ratio', 'share of the stored-id filter bits set', fill);
      const log = fill > 0.5 ? logger.warn.bind(logger) : logger.info.bind(logger);
      log(
        {
          stored,
          ms: now() - t0,
          fill,
          falsePositiveRate: fresh.falsePositiveRate,
          capacity: filterCapacity,
        },
        fill > 0.5
          ? 'stored-id filter is past its capacity; raise AGG_ID_FILTER_CAPACITY'
          : 'stored-id filter built',
      );
    }).catch((err: unknown) => {
      filterReady = null;
      throw err;
    });
    return filterReady;
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (!payload.isRunning() || payload.isStale()) return;
    const partition = batch.partition;
    await ensureFilter(payload);
    // The sink is the source of truth for what was applied; read it once per assignment.
    if (watermarks === null) {
      const read = await untilDone(payload, 'watermarks', () => sink.watermarks());
      // Partitions run concurrently: the first read to land is the one map they all update.
      watermarks ??= read;
    }
    const marks = watermarks;
    const watermark = marks.get(partition) ?? { changes: -1n, events: -1n };
    const messages: RawMessage[] = batch.messages.map((m) => ({
      offset: m.offset,
      value: m.value,
      receivedAtMs: receivedAt(m),
    }));
    const t0 = now();
    const backlog = BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n;
    if (backlog > BACKLOG_MESSAGES) behind.add(partition);
    else behind.delete(partition);
    processing++;
    let counted = true;
    // Once this batch's change rows are submitted (or it has none, or it failed), it no longer
    // holds the others' insert back.
    const release = (): void => {
      if (!counted) return;
      counted = false;
      processing--;
      changeWrites.poke();
    };
    try {
      await applyBatch(payload, partition, messages, marks, watermark, t0, release);
    } finally {
      release();
    }
  }

  /**
   * The change rows go first, since they are what analysts see; the audit trail follows, and
   * the rejected topic is written meanwhile. Two inserts at once into one ClickHouse are slower
   * than one after the other (group-insert.ts). Any order is safe for replays: each table has
   * its own watermark (processBatch rebuilds only what the table that missed it lacks), and
   * rejections are at least once. Everything is awaited before anything is thrown, so no write
   * of this batch is still in flight when the consumer restarts and reads the watermarks again.
   */
  async function writeBatch(
    payload: EachBatchPayload,
    result: BatchResult,
    release: () => void,
  ): Promise<void> {
    await settleAll([
      untilDone(payload, 'publish rejected', () => publishRejected(result.rejected)),
      (async () => {
        const submitted = insertOnce(payload, 'changes', result.rows, () => {
          const inserted = changeWrites.submit(result.rows);
          release();
          return inserted;
        });
        if (result.rows.length === 0) release();
        await submitted;
        await insertOnce(payload, 'events', result.events, () => eventWrites.submit(result.events));
      })(),
    ]);
  }

  /** Writes the batch again in chunks, without the group insert, until the refused messages are found. */
  async function isolateBatch(
    payload: EachBatchPayload,
    partition: number,
    messages: RawMessage[],
    cause: RefusedError,
  ): Promise<IsolationOutcome> {
    logger.warn(
      { partition, messages: messages.length, err: cause },
      'ClickHouse refused rows; isolating them',
    );
    const noMark: Watermark = { changes: -1n, events: -1n };
    const out = await isolate(
      {
        forgetUnflushed: () => window.forgetDirty(partition),
        flushed: () => window.markFlushed(partition),
        readWatermark: () =>
          untilDone(payload, 'watermarks', async () => (await sink.watermarks()).get(partition) ?? noMark),
        process: (chunk, mark) =>
          untilDone(payload, 'lookup', () =>
            processBatch(
              { decode: deps.decode, sink, window, filter: currentFilter },
              partition,
              chunk,
              mark,
              now(),
            ),
          ),
        insertChanges: (rows) => insertOnce(payload, 'changes', rows, () => sink.insertChanges(rows)),
        insertEvents: (rows) => insertOnce(payload, 'events', rows, () => sink.insertEvents(rows)),
        refused: async (m, table, err) => {
          const detail = `ClickHouse refused the ${table} insert (code ${err.clickhouseCode}): ${err.message}`;
          logger.warn(
            { partition, offset: m.offset, table, code: err.clickhouseCode },
            'message refused by ClickHouse',
          );
          await untilDone(payload, 'publish rejected', () =>
            publishRejected([
              {
                value: m.value ?? Buffer.alloc(0),
                reason: 'sink_refused',
                detail: detail.slice(0, 1_000),
                partition,
                offset: m.offset,
              },
            ]),
          );
          metrics.inc('aggregator_sink_refused_total', 'messages whose rows ClickHouse refused', 1, {
            table,
          });
        },
      },
      messages,
    );
    metrics.inc('aggregator_isolations_total', 'batches written again to find refused rows', 1);
    logger.warn({ partition, refused: out.refused, chunks: out.chunks }, 'isolation done');
    return out;
  }

  async function applyBatch(
    payload: EachBatchPayload,
    partition: number,
    messages: RawMessage[],
    marks: Map<number, Watermark>,
    watermark: Watermark,
    t0: number,
    release: () => void,
  ): Promise<void> {
    const { batch } = payload;
    const result = await untilDone(payload, 'lookup', () =>
      processBatch(
        { decode: deps.decode, sink, window, filter: currentFilter },
        partition,
        messages,
        watermark,
        t0,
      ),
    );
    const processedAt = now();
    await payload.heartbeat();
    let isolated: IsolationOutcome | null = null;
    try {
      await writeBatch(payload, result, release);
    } catch (err) {
      // A row ClickHouse refuses costs its message, never the partition (isolation.ts).
      if (!(err instanceof RefusedError)) throw err;
      release();
      isolated = await isolateBatch(payload, partition, messages, err);
      watermark = isolated.watermark;
    }
    window.markFlushed(partition);
    const writtenAt = now();
    if (result.lastOffset !== null) {
      const last = BigInt(result.lastOffset);
      payload.resolveOffset(result.lastOffset);
      await consumer.commitOffsets([{ topic: batch.topic, partition, offset: (last + 1n).toString() }]);
      // After an isolation the watermarks were read from the sink; otherwise the batch's rows
      // moved them to its last offset.
      if (isolated === null && result.rows.length > 0)
        watermark.changes = last > watermark.changes ? last : watermark.changes;
      if (isolated === null && result.events.length > 0)
        watermark.events = last > watermark.events ? last : watermark.events;
      marks.set(partition, watermark);
      const lag = BigInt(batch.highWatermark) - last - 1n;
      metrics.set(
        'aggregator_consumer_lag',
        'messages behind the partition end',
        Number(lag < 0n ? 0n : lag),
        {
          partition: String(partition),
        },
      );
    }
    if (window.overCapacity) window.evict(now());
    else if (now() - lastEvictAt > 1_000) {
      window.evict(now());
      lastEvictAt = now();
    }
    lastBatchAt = now();
    metrics.inc('aggregator_messages_total', 'messages consumed', messages.length);
    metrics.observe('aggregator_batch_messages', 'messages per batch', messages.length);
    metrics.inc('aggregator_events_total', 'decoded events applied', result.applied);
    metrics.inc('aggregator_duplicates_total', 'events that changed nothing', result.unchanged);
    metrics.inc('aggregator_replayed_skipped_total', 'messages already in ClickHouse', result.skipped);
    metrics.inc('aggregator_lookup_ids_total', 'workflow ids looked up in ClickHouse', result.lookedUp);
    metrics.inc('aggregator_rows_inserted_total', 'change rows inserted', result.rows.length);
    logger.debug(
      {
        partition,
        messages: messages.length,
        rows: result.rows.length,
        lookedUp: result.lookedUp,
        ms: now() - t0,
        processMs: processedAt - t0,
        writeMs: writtenAt - processedAt,
        commitMs: now() - writtenAt,
      },
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
        filterReady = null;
        behind.clear();
        logger.info({ assignment: e.payload.memberAssignment }, 'joined consumer group');
      });
      consumer.on(consumer.events.CRASH, (e) => {
        window.clear();
        watermarks = null;
        filterReady = null;
        crashed = !e.payload.restart;
        logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
        if (crashed) deps.onFatal?.(e.payload.error);
      });
      await consumer.subscribe({ topic: config.rawTopic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.partitionsConcurrency ?? 1,
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
      await deps.lagMonitor?.start();
      logger.info({ topic: config.rawTopic, httpPort }, 'aggregator started');
    },
    stop() {
      stopping ??= (async () => {
        running = false;
        await deps.lagMonitor?.stop();
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
