import type { Consumer, EachBatchPayload } from 'kafkajs';
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import type { DecodeOutcome, MessageMeta } from '@parsl-usage/schemas';
import type { BatchWriter } from './batch-writer.js';
import type { JoinWindow } from '../join/join-window.js';
import type { BatchContext, Watermark, WorkflowSink } from '../ports.js';
import { processBatch, type BatchResult, type RawMessage } from './processor.js';
import { rawMessages } from './raw-message.js';
import { offsetOf, positionOf } from '../position.js';
import { untilDone } from '../sink/sink-retry.js';
import { RefusedError } from '../errors.js';
import type { IsolationOutcome } from './isolation.js';
import { PartitionLanes, type PartitionLane } from './partition-lanes.js';
import type { StoredIds } from '../join/stored-ids.js';

/**
 * aggregator_batch_messages: a partition's batch holds at most AGG_FETCH_MAX_BYTES_PER_PARTITION
 * (1 MiB by default) of datagrams of a few hundred bytes, so a few thousand messages.
 */
const BATCH_MESSAGES_BUCKETS = [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

export interface BatchHandlerDeps {
  consumer: Pick<Consumer, 'commitOffsets'>;
  /** Reads a partition again from an offset (kafkajs' consumer.seek), after a background write failed. */
  seek(partition: number, offset: string): void;
  /** writes queued or running per partition at most (default 2: one in ClickHouse, one ready) */
  maxQueuedWrites?: number;
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
function contextOf(
  payload: EachBatchPayload,
  consumer: BatchHandlerDeps['consumer'],
  current: () => boolean,
): BatchContext {
  const { batch } = payload;
  return {
    partition: batch.partition,
    heartbeat: () => payload.heartbeat(),
    isActive: () => current() && payload.isRunning() && !payload.isStale(),
    async commit(lastOffset) {
      // Only the commit: the fetch position was moved on when the batch was handed to its lane
      // (resolveOffset), and moving it back here would read the batches after it again.
      const offset = (BigInt(lastOffset) + 1n).toString();
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset }]);
    },
  };
}

/** A batch between receipt and its lane. */
interface BatchInHand {
  ctx: BatchContext;
  payload: EachBatchPayload;
  lane: PartitionLane;
  messages: RawMessage[];
  marks: Map<number, Watermark>;
  /** see BatchWriter.begin */
  release: () => void;
}

const NO_MARK: Watermark = { changes: -1n, events: -1n };

/**
 * One partition's batch from receipt to commit: the stored-id filter and the watermarks (once
 * per assignment), processBatch (decode and join), then its writes queued on the partition's
 * lane (partition-lanes.ts) so that the next fetch is processed while they run; after a refusal,
 * the batches are written inline with isolation (the writer). Eviction from the join window and
 * the batch's metrics follow each commit.
 */
export class BatchHandler {
  private watermarks: Map<number, Watermark> | null = null;
  /** partitions whose stored but uncommitted change rows were checked since the watermarks were read */
  private readonly checked = new Set<number>();
  private readonly lanes: PartitionLanes;
  private lastEvictAt = 0;
  /** set by drain: every batch is left alone, and queued writes stop retrying */
  private stopping = false;
  /** ms; when the last batch was applied (health detail) */
  lastBatchAt = 0;

  constructor(private readonly deps: BatchHandlerDeps) {
    this.lanes = new PartitionLanes({
      maxQueued: deps.maxQueuedWrites ?? 2,
      isRefusal: (err) => err instanceof RefusedError,
      seek: (partition, offset) => deps.seek(partition, offset.toString()),
    });
  }

  /** Writes queued or running, over all partitions (a gauge). */
  get queuedWrites(): number {
    return this.lanes.depth;
  }

  /** Forget what was read for the last assignment (a group join or a crash). */
  reset(): void {
    this.watermarks = null;
    this.checked.clear();
    this.lanes.dropAll();
    this.deps.storedIds.reset();
    this.deps.writer.reset();
  }

  /**
   * A batch of `partition` failed: its lane's queued writes are dropped, and the watermarks are
   * read again. kafkajs retries a retriable error without rejoining the group, from the offsets
   * it was told were consumed (resolveOffset), which are past the dropped writes: the partition
   * is moved back to its last commit, or those batches would never be read again (found by the
   * cluster fault runs: a broker kill failed a heartbeat, and hundreds of offsets were lost).
   */
  afterFailure(partition: number): void {
    this.watermarks = null;
    this.checked.clear();
    const lane = this.lanes.get(partition);
    const next = lane.next;
    lane.drop();
    if (next !== null) this.deps.seek(partition, next.toString());
  }

  /**
   * Lets the queued writes finish (up to `graceMs`), then makes the rest give up; resolves when
   * none runs. For a shutdown, once the consumer is paused.
   */
  async drain(graceMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.lanes.idle(), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.stopping = true;
    this.lanes.dropAll();
    await this.lanes.idle();
  }

  async handle(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const lane = this.lanes.get(batch.partition);
    const epoch = lane.epoch;
    const ctx = contextOf(payload, this.deps.consumer, () => !this.stopping && lane.epoch === epoch);
    if (!ctx.isActive()) return;
    await this.recover(lane, ctx);
    await lane.admit(() => ctx.heartbeat());
    if (!ctx.isActive()) return;
    lane.next ??= BigInt(batch.firstOffset() ?? batch.lastOffset());
    await this.deps.storedIds.ensure(ctx);
    // The sink is the source of truth for what was applied; read it once per assignment, once
    // nothing of the last one is still being written.
    if (this.watermarks === null) {
      await this.lanes.idle();
      await this.deps.writer.awaitReplication(ctx);
      const read = await untilDone(this.deps, ctx, 'watermarks', () => this.deps.sink.watermarks());
      // Partitions run concurrently: the first read to land is the one map they all update.
      this.watermarks ??= read;
    }
    await this.checkUncommitted(ctx, batch.messages[0]?.offset, this.watermarks);
    const messages: RawMessage[] = rawMessages(batch.messages);
    const backlog = BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n;
    const release = this.deps.writer.begin(batch.partition, backlog);
    const batchCtx: BatchInHand = { ctx, payload, lane, messages, marks: this.watermarks, release };
    try {
      if (BigInt(batch.firstOffset() ?? '-1') <= lane.inlineThrough) await this.applyInline(batchCtx);
      else await this.applyQueued(batchCtx);
    } finally {
      release();
    }
  }

  /**
   * A write of this partition failed in the background, and kafkajs now reads it again from the
   * last commit. A refusal: read the partition's watermark again and write inline until past the
   * batches that were in flight, so that the isolation finds the refused rows. Anything else is
   * thrown here, as it would have been thrown by the write itself (kafkajs restarts).
   */
  private async recover(lane: PartitionLane, ctx: BatchContext): Promise<void> {
    const failure = lane.failure;
    if (failure === null) return;
    await lane.idle();
    lane.failure = null;
    if (!failure.refused) throw failure.error;
    this.deps.window.clearPartition(ctx.partition);
    this.checked.delete(ctx.partition);
    const marks = this.watermarks;
    if (marks !== null) {
      const read = await untilDone(this.deps, ctx, 'watermarks', () => this.deps.sink.watermarks());
      marks.set(ctx.partition, read.get(ctx.partition) ?? NO_MARK);
    }
    lane.inlineThrough = failure.through;
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
    if (positionOf(first, 0) > stored) return;
    const out = await this.deps.writer.checkStored(ctx, {
      partition: ctx.partition,
      from: BigInt(first),
      to: offsetOf(stored),
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

  /** Processes the batch now, queues its writes and commit on the lane, and moves the fetch on. */
  private async applyQueued(b: BatchInHand): Promise<void> {
    const { ctx, payload, lane, messages, marks } = b;
    const { window, writer, now } = this.deps;
    const partition = ctx.partition;
    const t0 = now();
    const seq = window.beginBatch(partition);
    const result = await untilDone(this.deps, ctx, 'lookup', () =>
      this.process(ctx, messages, marks.get(partition) ?? NO_MARK, t0),
    );
    b.release();
    if (!ctx.isActive() || result.lastOffset === null) return;
    const last = BigInt(result.lastOffset);
    lane.processed = last;
    lane.enqueue(async (isCurrent) => {
      // No isolation here: batches after this one were processed on top of its states. A refusal
      // fails the lane, and the partition is written again inline (recover).
      await writer.write(ctx, result, messages, () => undefined, null);
      if (!isCurrent()) return;
      window.markFlushed(partition, seq);
      lane.commitLater(() => this.committed(ctx, payload, lane, result, null, t0));
    });
    payload.resolveOffset(result.lastOffset);
  }

  /** Processes and writes the batch before returning: isolation finds refused rows (after a refusal). */
  private async applyInline(b: BatchInHand): Promise<void> {
    const { ctx, payload, lane, messages, marks } = b;
    const { window, writer, now } = this.deps;
    const partition = ctx.partition;
    await lane.idle();
    const t0 = now();
    window.beginBatch(partition);
    const watermark = marks.get(partition) ?? NO_MARK;
    const result = await untilDone(this.deps, ctx, 'lookup', () =>
      this.process(ctx, messages, watermark, t0),
    );
    await ctx.heartbeat();
    const isolated = await writer.write(ctx, result, messages, b.release, {
      process: (chunk, mark) => this.process(ctx, chunk, mark, now()),
      forgetUnflushed: () => window.forgetDirty(partition),
      flushed: () => window.markFlushed(partition),
    });
    window.markFlushed(partition);
    if (result.lastOffset === null) return;
    await this.committed(ctx, payload, lane, result, isolated, t0);
    lane.processed = BigInt(result.lastOffset);
    payload.resolveOffset(result.lastOffset);
  }

  /** Commits a written batch; then its watermark, eviction, metrics and log line. */
  private async committed(
    ctx: BatchContext,
    payload: EachBatchPayload,
    lane: PartitionLane,
    result: BatchResult,
    isolated: IsolationOutcome | null,
    t0: number,
  ): Promise<void> {
    if (result.lastOffset === null) return;
    const partition = ctx.partition;
    const marks = this.watermarks;
    const mark = await this.deps.writer.commit(ctx, result, marks?.get(partition) ?? NO_MARK, isolated);
    marks?.set(partition, mark);
    lane.committed(BigInt(result.lastOffset));
    const lag = BigInt(payload.batch.highWatermark) - BigInt(result.lastOffset) - 1n;
    this.deps.metrics.set(
      'aggregator_consumer_lag',
      'messages behind the partition end',
      Number(lag < 0n ? 0n : lag),
      {
        partition: String(partition),
      },
    );
    this.evict();
    this.lastBatchAt = this.deps.now();
    this.count(result.datagrams, result);
    this.deps.logger.debug(
      {
        partition,
        messages: payload.batch.messages.length,
        rows: result.rows.length,
        lookedUp: result.lookedUp,
        ms: this.lastBatchAt - t0,
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
    metrics.inc('aggregator_messages_total', 'datagrams consumed (a pack counts each of its entries)', messages);
    metrics.observe('aggregator_batch_messages', 'datagrams per batch', messages, {}, BATCH_MESSAGES_BUCKETS);
    metrics.inc('aggregator_events_total', 'decoded events applied', result.applied);
    metrics.inc('aggregator_duplicates_total', 'events that changed nothing', result.unchanged);
    metrics.inc('aggregator_replayed_skipped_total', 'messages already in ClickHouse', result.skipped);
    metrics.inc('aggregator_lookup_ids_total', 'workflow ids looked up in ClickHouse', result.lookedUp);
    metrics.inc('aggregator_rows_inserted_total', 'change rows inserted', result.rows.length);
  }
}
