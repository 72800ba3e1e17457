import type { Logger } from 'pino';
import { positionOf } from '../position.js';
import type { Metrics } from '@parsl-usage/common';
import { TransientError, withRetry } from '../errors.js';
import type { WorkflowChangeRow } from '@parsl-usage/schemas';
import type { BatchContext, WorkflowSink } from '../ports.js';
import type { OffsetRange } from '../repair/view-repair-sql.js';
import type { CoordinationHealth } from './coordination-health.js';
import { clickHouseErrorCodeDeep } from './clickhouse-errors.js';

export interface SinkRetryDeps {
  sink: Pick<WorkflowSink, 'watermarks' | 'storedChanges' | 'unconfirmedParts'>;
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
type RetryDeps = Pick<SinkRetryDeps, 'metrics' | 'logger' | 'coordination'> & {
  sink: Pick<WorkflowSink, 'unconfirmedParts'>;
};

export async function untilDone<T>(
  deps: RetryDeps,
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

const UNKNOWN_STATUS_OF_INSERT = 319; // ClickHouse's "client must retry": the part may or may not be in ZooKeeper
const UNCONFIRMED_POLL_MS = 2_000; // ms between looks at the unconfirmed parts
const UNCONFIRMED_WAIT_MS = 330_000; // ms: 18.16 checks such a part 300 s after its insert

/** Waits `ms` while the batch is still this consumer's, keeping the group membership alive. */
async function pause(ctx: BatchContext, ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  // Retriable, so that kafkajs restarts the consumer instead of leaving it crashed.
  if (!ctx.isActive()) throw new TransientError('consumer stopping; abandoning batch');
  await ctx.heartbeat();
}

/**
 * After an insert answered 319, waits until no part written before that answer is missing from
 * ZooKeeper, so that the next attempt's look-up (watermark, stored rows, view check) reads only
 * rows that stay: 18.16 keeps such a part readable and later removes it if its commit never
 * reached ZooKeeper (issue 29: events and change rows were lost when a look-up trusted one). The
 * part is confirmed, or removed by the server's part check within about 300 s. The wait is
 * bounded: past it the attempt goes ahead as before, logged as an error and counted.
 */
async function settleUnknownStatus(deps: RetryDeps, ctx: BatchContext, what: string): Promise<void> {
  const look = (at?: string) =>
    retrying(deps, ctx, 'unconfirmed parts', () => deps.sink.unconfirmedParts(at));
  const first = await look();
  const t0 = Date.now();
  for (let seen = first; seen.parts > 0; seen = await look(first.at)) {
    if (Date.now() - t0 > UNCONFIRMED_WAIT_MS) {
      deps.metrics.inc(
        'aggregator_unconfirmed_parts_total',
        'waits for parts of unknown status that ran out',
        1,
        {
          op: what,
        },
      );
      deps.logger.warn(
        { partition: ctx.partition, op: what, parts: seen.parts },
        'parts of an insert of unknown status are still unconfirmed; going ahead',
      );
      return;
    }
    await pause(ctx, UNCONFIRMED_POLL_MS);
  }
  deps.logger.warn(
    { partition: ctx.partition, op: what, waitedMs: Date.now() - t0, parts: first.parts },
    'insert of unknown status settled: no unconfirmed part left',
  );
}

async function retrying<T>(
  deps: RetryDeps,
  ctx: BatchContext,
  what: string,
  op: () => Promise<T>,
): Promise<T> {
  // A read succeeds on a server without ZooKeeper, so only an insert's success, or that of an
  // operation that itself failed for lack of coordination, says the loss is over.
  let lostHere = false;
  let lostNow = false;
  let unknownStatus = false;
  const result = await withRetry(op, {
    attempts: Number.POSITIVE_INFINITY,
    baseDelayMs: 200, // ms
    maxDelayMs: 30_000, // ms
    onRetry: (err, attempt) => {
      lostNow = deps.coordination?.failed(what, err) ?? false;
      if (clickHouseErrorCodeDeep(err) === UNKNOWN_STATUS_OF_INSERT) {
        unknownStatus = true;
        deps.metrics.inc(
          'aggregator_unknown_status_inserts_total',
          'inserts answered 319 UNKNOWN_STATUS_OF_INSERT',
          1,
          {
            op: what,
          },
        );
      }
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
      await pause(ctx, lostNow ? Math.min(ms, COORDINATION_RETRY_MS) : ms);
      if (unknownStatus) {
        await settleUnknownStatus(deps, ctx, what);
        unknownStatus = false;
      }
    },
  });
  deps.coordination?.succeeded(lostHere || isInsert(what));
  return result;
}

/**
 * Inserts audit rows once: after a failed attempt, the watermark (a position, position.ts) says whether they landed
 * (`events` has no views, and one insert is one part per month, replaced on merge if repeated).
 */
export async function insertOnce(
  deps: SinkRetryDeps,
  ctx: BatchContext,
  what: 'events',
  rows: { kafka_offset: string; kafka_index: number }[],
  insert: () => Promise<void>,
): Promise<void> {
  const lastRow = rows[rows.length - 1];
  if (lastRow === undefined) return;
  const last = positionOf(lastRow.kafka_offset, lastRow.kafka_index);
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
