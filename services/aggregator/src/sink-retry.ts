import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { TransientError, withRetry } from './errors.js';
import type { WorkflowChangeRow } from '@parsl-usage/schemas';
import type { BatchContext, WorkflowSink } from './ports.js';
import type { OffsetRange } from './view-repair-sql.js';
import type { CoordinationHealth } from './coordination-health.js';

export interface SinkRetryDeps {
  sink: Pick<WorkflowSink, 'watermarks' | 'storedChanges'>;
  metrics: Metrics;
  logger: Pick<Logger, 'warn'>;
  now: () => number;
  /** Told of every retried failure and success, to report a lost ZooKeeper/Keeper (app.ts). */
  coordination?: Pick<CoordinationHealth, 'failed' | 'succeeded'>;
}

/** Operations that write to a Replicated* table: their success proves coordination works. */
const isInsert = (what: string): boolean => what.startsWith('insert ');

/**
 * Retries a sink operation for as long as the failure is transient: a ClickHouse outage
 * pauses this partition (heartbeating, so the group keeps it here) instead of crash-looping.
 */
export async function untilDone<T>(
  deps: Pick<SinkRetryDeps, 'metrics' | 'logger' | 'coordination'>,
  ctx: BatchContext,
  what: string,
  op: () => Promise<T>,
): Promise<T> {
  // A request can hang until the client's timeout (30 s) when a ClickHouse container is being
  // restarted (its SYNs dropped, not refused): keep the group membership alive meanwhile, or the
  // session timeout (10 s) hands the partitions over in the middle of the batch.
  const keepAlive = setInterval(() => {
    ctx.heartbeat().catch(() => undefined);
  }, KEEP_ALIVE_MS);
  try {
    return await retrying(deps, ctx, what, op);
  } finally {
    clearInterval(keepAlive);
  }
}

const KEEP_ALIVE_MS = 2_000; // ms: under kafkajs' 3 s heartbeat interval
const COORDINATION_RETRY_MS = 1_000; // ms: the longest wait between retries while coordination is lost

async function retrying<T>(
  deps: Pick<SinkRetryDeps, 'metrics' | 'logger' | 'coordination'>,
  ctx: BatchContext,
  what: string,
  op: () => Promise<T>,
): Promise<T> {
  // A read succeeds on a server without ZooKeeper, so only an insert's success, or that of an
  // operation that itself failed for lack of coordination, says the loss is over.
  let lostHere = false;
  let lostNow = false;
  const result = await withRetry(op, {
    attempts: Number.POSITIVE_INFINITY,
    baseDelayMs: 200, // ms
    maxDelayMs: 30_000, // ms
    onRetry: (err, attempt) => {
      lostNow = deps.coordination?.failed(what, err) ?? false;
      if (lostNow) lostHere = true;
      deps.metrics.inc('aggregator_sink_retries_total', 'retried ClickHouse operations', 1, { op: what });
      deps.logger.warn(
        { err, attempt, partition: ctx.partition, op: what },
        'ClickHouse unavailable; retrying',
      );
    },
    sleep: async (ms) => {
      // Without coordination ClickHouse refuses at once, so a retry every second costs nothing,
      // and the pause then ends with the read-only time instead of up to 30 s of back-off after
      // it (issue 29: the back-off added 0.3-4.9 s to each pause of the cluster's fault runs).
      await new Promise((r) => setTimeout(r, lostNow ? Math.min(ms, COORDINATION_RETRY_MS) : ms));
      // Retriable, so that kafkajs restarts the consumer instead of leaving it crashed.
      if (!ctx.isActive()) throw new TransientError('consumer stopping; abandoning batch');
      await ctx.heartbeat();
    },
  });
  deps.coordination?.succeeded(lostHere || isInsert(what));
  return result;
}

/**
 * Inserts audit rows once: after a failed attempt, the watermark says whether they landed
 * (`events` has no views, and one insert is one part per month, replaced on merge if repeated).
 */
export async function insertOnce(
  deps: SinkRetryDeps,
  ctx: BatchContext,
  what: 'events',
  rows: { kafka_offset: string }[],
  insert: () => Promise<void>,
): Promise<void> {
  if (rows.length === 0) return;
  const last = BigInt(rows[rows.length - 1]?.kafka_offset ?? '-1');
  let attempted = false;
  const t0 = deps.now();
  await untilDone(deps, ctx, `insert ${what}`, async () => {
    if (attempted) {
      const held = (await deps.sink.watermarks()).get(ctx.partition);
      if (held && held[what] >= last) return;
    }
    attempted = true;
    await insert();
  });
  deps.metrics.observe('aggregator_insert_seconds', 'ClickHouse insert latency', (deps.now() - t0) / 1000, {
    table: what,
  });
}

export interface ChangeLanding {
  /** Inserts rows that are known not to be stored (shares the change inserts' turn). */
  insertMissing(rows: WorkflowChangeRow[]): Promise<void>;
  /** Completes the view targets of stored change rows (view-repair.ts). */
  repair(ctx: BatchContext, r: OffsetRange): Promise<unknown>;
}

/** The partition's offsets a set of change rows covers. */
export function rangeOf(partition: number, rows: readonly { kafka_offset: string }[]): OffsetRange {
  let from = -1n;
  let to = -1n;
  for (const r of rows) {
    const o = BigInt(r.kafka_offset);
    if (from < 0n || o < from) from = o;
    if (o > to) to = o;
  }
  return { partition, from, to };
}

/**
 * Inserts change rows once. After a failed attempt the rows themselves are looked for (not the
 * watermark: an insert spanning two months is two parts, and a server killed between them keeps
 * one): none stored, the insert is sent again; all or some stored, the missing ones are
 * inserted, and the view targets are checked and completed, since a server killed between the
 * source part and the views' parts keeps the first without the others.
 */
export async function insertChangesOnce(
  deps: SinkRetryDeps & ChangeLanding,
  ctx: BatchContext,
  rows: WorkflowChangeRow[],
  insert: () => Promise<void>,
): Promise<void> {
  if (rows.length === 0) return;
  const range = rangeOf(ctx.partition, rows);
  let attempted = false;
  const t0 = deps.now();
  await untilDone(deps, ctx, 'insert changes', async () => {
    if (attempted) {
      const stored = await deps.sink.storedChanges(range);
      if (stored.size > 0) {
        const missing = rows.filter((r) => !stored.has(`${r.kafka_offset}:${r.seq}`));
        if (missing.length > 0) await deps.insertMissing(missing);
        await deps.repair(ctx, range);
        return;
      }
    }
    attempted = true;
    await insert();
  });
  deps.metrics.observe('aggregator_insert_seconds', 'ClickHouse insert latency', (deps.now() - t0) / 1000, {
    table: 'changes',
  });
}
