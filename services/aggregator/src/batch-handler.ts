import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import type { DecodeOutcome, MessageMeta } from '@parsl-usage/schemas';
import type { BatchWriter } from './batch-writer.js';
import type { JoinWindow } from './join-window.js';
import type { BatchContext, Watermark, WorkflowSink } from './ports.js';
import { processBatch, type BatchResult, type RawMessage } from './processor.js';
import { rawMessage } from './raw-message.js';
import { untilDone } from './sink-retry.js';
import type { StoredIds } from './stored-ids.js';

/**
 * aggregator_batch_messages: a partition's batch holds at most AGG_FETCH_MAX_BYTES_PER_PARTITION
 * (1 MiB by default) of datagrams of a few hundred bytes, so a few thousand messages.
 */
const BATCH_MESSAGES_BUCKETS = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

export interface BatchHandlerDeps {
  consumer: Pick<Consumer, 'commitOffsets'>;
  sink: WorkflowSink;
  decode: (bytes: Buffer, meta: MessageMeta) => DecodeOutcome;
  window: JoinWindow;
  storedIds: StoredIds;
  writer: BatchWriter;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
}

/** kafkajs' batch seen through the narrow BatchContext the writers use. */
function contextOf(payload: EachBatchPayload, consumer: BatchHandlerDeps['consumer']): BatchContext {
  const { batch } = payload;
  return {
    partition: batch.partition,
    heartbeat: () => payload.heartbeat(),
    isActive: () => payload.isRunning() && !payload.isStale(),
    async commit(lastOffset) {
      payload.resolveOffset(lastOffset);
      const offset = (BigInt(lastOffset) + 1n).toString();
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset }]);
    },
  };
}

/**
 * One partition's batch from receipt to commit: the stored-id filter and the watermarks (once
 * per assignment), processBatch (decode and join), the writer, eviction from the join window,
 * and the batch's metrics.
 */
export class BatchHandler {
  private watermarks: Map<number, Watermark> | null = null;
  /** partitions whose stored but uncommitted change rows were checked since the watermarks were read */
  private readonly checked = new Set<number>();
  private lastEvictAt = 0;
  /** ms; when the last batch was applied (health detail) */
  lastBatchAt = 0;

  constructor(private readonly deps: BatchHandlerDeps) {}

  /** Forget what was read for the last assignment (a group join or a crash). */
  reset(): void {
    this.watermarks = null;
    this.checked.clear();
    this.deps.storedIds.reset();
    this.deps.writer.reset();
  }

  /** A batch failed: kafkajs restarts from the committed offsets, so read the watermarks again. */
  afterFailure(): void {
    this.watermarks = null;
    this.checked.clear();
  }

  async handle(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const ctx = contextOf(payload, this.deps.consumer);
    if (!ctx.isActive()) return;
    await this.deps.storedIds.ensure(ctx);
    // The sink is the source of truth for what was applied; read it once per assignment.
    if (this.watermarks === null) {
      await this.deps.writer.awaitReplication(ctx);
      const read = await untilDone(this.deps, ctx, 'watermarks', () => this.deps.sink.watermarks());
      // Partitions run concurrently: the first read to land is the one map they all update.
      this.watermarks ??= read;
    }
    await this.checkUncommitted(ctx, batch.messages[0]?.offset, this.watermarks);
    const messages: RawMessage[] = batch.messages.map(rawMessage);
    const backlog = BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n;
    const release = this.deps.writer.begin(batch.partition, backlog);
    try {
      await this.apply(ctx, payload, messages, this.watermarks, release);
    } finally {
      release();
    }
  }

  /**
   * The first batch after an assignment starts at the committed offset; change rows stored
   * from there on were written by an owner that did not live to commit them, perhaps while
   * ClickHouse died mid-insert: their view targets are checked once (view-repair.ts).
   */
  private async checkUncommitted(
    ctx: BatchContext,
    first: string | undefined,
    marks: Map<number, Watermark>,
  ): Promise<void> {
    if (first === undefined || this.checked.has(ctx.partition)) return;
    this.checked.add(ctx.partition);
    const stored = marks.get(ctx.partition)?.changes ?? -1n;
    if (BigInt(first) > stored) return;
    const out = await this.deps.writer.checkStored(ctx, {
      partition: ctx.partition,
      from: BigInt(first),
      to: stored,
    });
    // The stored-id filter was built without the versions just completed: their closures would
    // skip the look-up and be taken for closure-only runs. Rebuild it (rare: a cut insert).
    if (out.kind === 'repaired' && out.versions > 0) {
      this.deps.storedIds.reset();
      await this.deps.storedIds.ensure(ctx);
    }
  }

  private process(
    ctx: BatchContext,
    messages: RawMessage[],
    watermark: Watermark,
    now: number,
  ): Promise<BatchResult> {
    const { decode, sink, window, storedIds } = this.deps;
    return processBatch(
      { decode, sink, window, filter: storedIds.view },
      ctx.partition,
      messages,
      watermark,
      now,
    );
  }

  private async apply(
    ctx: BatchContext,
    payload: EachBatchPayload,
    messages: RawMessage[],
    marks: Map<number, Watermark>,
    release: () => void,
  ): Promise<void> {
    const { window, writer, now } = this.deps;
    const partition = ctx.partition;
    const t0 = now();
    const watermark = marks.get(partition) ?? { changes: -1n, events: -1n };
    const result = await untilDone(this.deps, ctx, 'lookup', () =>
      this.process(ctx, messages, watermark, t0),
    );
    const processedAt = now();
    await ctx.heartbeat();
    const isolated = await writer.write(ctx, result, messages, release, {
      process: (chunk, mark) => this.process(ctx, chunk, mark, now()),
      forgetUnflushed: () => window.forgetDirty(partition),
      flushed: () => window.markFlushed(partition),
    });
    window.markFlushed(partition);
    const writtenAt = now();
    marks.set(partition, await writer.commit(ctx, result, watermark, isolated));
    if (result.lastOffset !== null) {
      const lag = BigInt(payload.batch.highWatermark) - BigInt(result.lastOffset) - 1n;
      this.deps.metrics.set(
        'aggregator_consumer_lag',
        'messages behind the partition end',
        Number(lag < 0n ? 0n : lag),
        {
          partition: String(partition),
        },
      );
    }
    this.evict();
    this.lastBatchAt = now();
    this.count(messages.length, result);
    this.deps.logger.debug(
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

  private evict(): void {
    const { window, now } = this.deps;
    if (window.overCapacity) window.evict(now());
    else if (now() - this.lastEvictAt > 1_000) {
      window.evict(now());
      this.lastEvictAt = now();
    }
  }

  private count(messages: number, result: BatchResult): void {
    const { metrics } = this.deps;
    metrics.inc('aggregator_messages_total', 'messages consumed', messages);
    metrics.observe('aggregator_batch_messages', 'messages per batch', messages, {}, BATCH_MESSAGES_BUCKETS);
    metrics.inc('aggregator_events_total', 'decoded events applied', result.applied);
    metrics.inc('aggregator_duplicates_total', 'events that changed nothing', result.unchanged);
    metrics.inc('aggregator_replayed_skipped_total', 'messages already in ClickHouse', result.skipped);
    metrics.inc('aggregator_lookup_ids_total', 'workflow ids looked up in ClickHouse', result.lookedUp);
    metrics.inc('aggregator_rows_inserted_total', 'change rows inserted', result.rows.length);
  }
}
