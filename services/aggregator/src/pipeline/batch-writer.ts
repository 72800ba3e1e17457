import type { Logger } from 'pino';
import { RefusedError, settleAll } from '../errors.js';
import { GroupInsert } from './group-insert.js';
import { isolate, type IsolationOutcome } from './isolation.js';
import type { BatchContext, Watermark, WorkflowSink } from '../ports.js';
import type { BatchResult, RawMessage } from './processor.js';
import type { PublishRejected } from './rejected-publisher.js';
import { Serial } from './serial.js';
import {
  insertChangesOnce,
  insertOnce,
  untilDone,
  type ChangeLanding,
  type SinkRetryDeps,
} from '../sink/sink-retry.js';
import { ViewRepairer, type RepairOutcome } from '../repair/view-repair.js';
import type { OffsetRange } from '../repair/view-repair-sql.js';

/** Messages left in a partition after a fetch that mean a backlog is draining. */
const BACKLOG_MESSAGES = 1_000n;

export interface BatchWriterDeps extends SinkRetryDeps {
  sink: WorkflowSink;
  logger: Pick<Logger, 'warn' | 'error'>;
  publishRejected: PublishRejected;
  /** See AGG_INSERT_GATHER_MS; 0 sends each insert as soon as it can. */
  insertGatherMs: number;
  /** ms between the view repair's two readings (view-repair.ts; default 1,000) */
  repairSettleMs?: number;
  /** ms a view repair may stay unsettled before it is given up, loudly (default 120,000) */
  repairGiveUpMs?: number;
}

/** What an isolation needs of the batch's processing (the join window and processBatch). */
export interface Reprocess {
  process(chunk: RawMessage[], watermark: Watermark): Promise<BatchResult>;
  forgetUnflushed(): void;
  flushed(): void;
}

/**
 * Writes one partition's processed batch exactly once: the change rows through the group
 * insert (one insert per table at a time, carrying every partition's ready rows) with its
 * gather policy, then the audit rows, the rejected topic meanwhile; a refusal by ClickHouse is
 * isolated (isolation.ts); then the commit and the partition's watermark.
 */
export class BatchWriter {
  // Batches between receipt and their change rows' submission: while any is, the change rows
  // already submitted wait for it (up to insertGatherMs), so that a fetch's partitions share
  // one insert instead of the first going alone.
  private processing = 0;
  // Partitions whose last fetch left a backlog behind it. While any has one, the gather is off:
  // draining a backlog, overlapping one partition's insert with the others' processing is worth
  // more than one insert per fetch (about 7 % of catch-up speed, BENCHMARKS.md), and freshness
  // is the backlog's anyway.
  private readonly behind = new Set<number>();
  private readonly eventWrites: GroupInsert<BatchResult['events'][number]>;
  private readonly changeWrites: GroupInsert<BatchResult['rows'][number]>;
  // Change inserts and view repairs take turns: a repair's readings must not see one of this
  // process's inserts between its source part and its views' parts.
  private readonly serial = new Serial();
  private readonly repairer: ViewRepairer;
  private readonly landing: SinkRetryDeps & ChangeLanding;

  constructor(private readonly deps: BatchWriterDeps) {
    const { sink, metrics } = deps;
    this.eventWrites = new GroupInsert((rows) => sink.insertEvents(rows));
    this.repairer = new ViewRepairer({
      views: () => sink.views(),
      serial: this.serial,
      metrics,
      logger: deps.logger,
      now: deps.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      settleMs: deps.repairSettleMs ?? 1_000, // ms
      giveUpAfterMs: deps.repairGiveUpMs ?? 120_000, // ms
    });
    this.landing = {
      ...deps,
      insertMissing: (rows) => this.serial.run(() => sink.insertChanges(rows)),
      repair: (ctx, r) => this.repairer.repair(ctx, r),
    };
    this.changeWrites = new GroupInsert(
      (rows) =>
        this.serial.run(async () => {
          await sink.insertChanges(rows);
          metrics.inc('aggregator_inserts_total', 'inserts into workflow_changes', 1);
        }),
      { holdWhile: () => this.processing > 0 && this.behind.size === 0, maxHoldMs: deps.insertGatherMs },
    );
  }

  /**
   * A batch of `partition` starts processing, `backlog` messages before the partition's end.
   * Returns its release, to call (any number of times) once its change rows are submitted, or
   * it has none, or it failed: it then no longer holds the others' insert back.
   */
  begin(partition: number, backlog: bigint): () => void {
    if (backlog > BACKLOG_MESSAGES) this.behind.add(partition);
    else this.behind.delete(partition);
    this.processing++;
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      this.processing--;
      this.changeWrites.poke();
    };
  }

  /**
   * Change rows stored but not committed when the partition was assigned: the last owner may
   * have died with ClickHouse in the middle of their insert, so their views are checked.
   */
  checkStored(ctx: BatchContext, r: OffsetRange): Promise<RepairOutcome> {
    return untilDone(this.deps, ctx, 'view check', () => this.repairer.repair(ctx, r));
  }

  /** Before the watermarks are read: every part another replica took is here (view-repair.ts). */
  async awaitReplication(ctx: BatchContext): Promise<void> {
    await untilDone(this.deps, ctx, 'replication queue', () => this.repairer.awaitReplication(ctx));
  }

  /** A group join: the partitions may have moved. */
  reset(): void {
    this.behind.clear();
  }

  /**
   * The change rows go first, since they are what analysts see; the audit trail follows, and
   * the rejected topic is written meanwhile. Two inserts at once into one ClickHouse are slower
   * than one after the other (group-insert.ts). Any order is safe for replays: each table has
   * its own watermark (processBatch rebuilds only what the table that missed it lacks), and
   * rejections are at least once. Everything is awaited before anything is thrown, so no write
   * of this batch is still in flight when the consumer restarts and reads the watermarks again.
   * Returns the isolation's outcome when ClickHouse refused rows, else null. Without
   * `reprocess` (a batch written in the background), a refusal is thrown instead.
   */
  async write(
    ctx: BatchContext,
    result: BatchResult,
    messages: RawMessage[],
    release: () => void,
    reprocess: Reprocess | null,
  ): Promise<IsolationOutcome | null> {
    const { deps } = this;
    try {
      await settleAll([
        untilDone(deps, ctx, 'publish rejected', () => deps.publishRejected(result.rejected)),
        (async () => {
          const submitted = insertChangesOnce(this.landing, ctx, result.rows, () => {
            const inserted = this.changeWrites.submit(result.rows);
            release();
            return inserted;
          });
          if (result.rows.length === 0) release();
          await submitted;
          await insertOnce(deps, ctx, 'events', result.events, () => this.eventWrites.submit(result.events));
        })(),
      ]);
      return null;
    } catch (err) {
      // A row ClickHouse refuses costs its message, never the partition (isolation.ts).
      release();
      if (!(err instanceof RefusedError) || reprocess === null) throw err;
      return this.isolate(ctx, messages, err, reprocess);
    }
  }

  /** Writes the batch again in chunks, without the group insert, until the refused messages are found. */
  private async isolate(
    ctx: BatchContext,
    messages: RawMessage[],
    cause: RefusedError,
    reprocess: Reprocess,
  ): Promise<IsolationOutcome> {
    const { deps } = this;
    const { sink, logger, metrics } = deps;
    const partition = ctx.partition;
    logger.warn(
      { partition, messages: messages.length, err: cause },
      'ClickHouse refused rows; isolating them',
    );
    const noMark: Watermark = { changes: -1n, events: -1n };
    const out = await isolate(
      {
        forgetUnflushed: () => reprocess.forgetUnflushed(),
        flushed: () => reprocess.flushed(),
        readWatermark: () =>
          untilDone(deps, ctx, 'watermarks', async () => (await sink.watermarks()).get(partition) ?? noMark),
        process: (chunk, mark) => untilDone(deps, ctx, 'lookup', () => reprocess.process(chunk, mark)),
        insertChanges: (rows) =>
          insertChangesOnce(this.landing, ctx, rows, () => this.serial.run(() => sink.insertChanges(rows))),
        insertEvents: (rows) => insertOnce(deps, ctx, 'events', rows, () => sink.insertEvents(rows)),
        refused: async (m, table, err) => {
          const detail = `ClickHouse refused the ${table} insert (code ${err.clickhouseCode}): ${err.message}`;
          logger.warn(
            { partition, offset: m.offset, index: m.index, table, code: err.clickhouseCode },
            'message refused by ClickHouse',
          );
          await untilDone(deps, ctx, 'publish rejected', () =>
            deps.publishRejected([
              {
                value: m.value ?? Buffer.alloc(0),
                reason: 'sink_refused',
                detail: detail.slice(0, 1_000),
                partition,
                offset: m.offset,
                index: m.index ?? 0,
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

  /**
   * Commits the batch and returns the partition's watermark after it: read from the sink after
   * an isolation; otherwise moved to the batch's last offset by the tables it wrote.
   */
  async commit(
    ctx: BatchContext,
    result: BatchResult,
    watermark: Watermark,
    isolated: IsolationOutcome | null,
  ): Promise<Watermark> {
    if (result.lastOffset === null) return watermark;
    const last = result.lastPosition;
    await ctx.commit(result.lastOffset);
    if (isolated !== null) return isolated.watermark;
    return {
      changes: result.rows.length > 0 && last > watermark.changes ? last : watermark.changes,
      events: result.events.length > 0 && last > watermark.events ? last : watermark.events,
    };
  }
}
