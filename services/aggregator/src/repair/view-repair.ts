/**
 * Completes the materialized views of change rows that may have landed in part.
 *
 * ClickHouse writes an insert into workflow_changes as its own part first and then one part per
 * view target, one after the other; a server killed in between keeps the change rows and loses
 * some targets' rows, and a retry must not insert the change rows again. So whenever rows are
 * found stored after a failed insert (or stored but not committed when a partition is assigned),
 * each target is made to agree with its view over the source on every key those rows touch:
 * what it lacks (view over the source minus the target, per key) is read, read again
 * `settleMs` later, and inserted when both readings agree. Inserting the difference is right
 * whoever caused it, so two partitions of one failed insert can repair in any order, and a
 * second repair of the same rows finds nothing to do.
 *
 * A reading can be wrong only while another insert is between its source part and its view
 * parts. This aggregator's own change inserts wait for the repair (Serial); another aggregator's
 * would have to stay there for both readings with the same effect on every key, and parts still
 * to fetch from another replica make the repair wait (replicationBacklog). SCALING.md.
 */
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { TransientError } from '../errors.js';
import type { BatchContext, ViewRepairPort } from '../ports.js';
import type { RollupTarget } from '@parsl-usage/schemas/migrations-model';
import type { Serial } from '../pipeline/serial.js';
import type { DiffRow, OffsetRange } from './view-repair-sql.js';

export type { ViewRepairPort } from '../ports.js';

export type RepairOutcome =
  | { kind: 'clean' }
  | { kind: 'repaired'; versions: number; targets: { target: string; keys: number }[] }
  | { kind: 'unsettled'; reason: string };

type Reading = { target: RollupTarget; rows: DiffRow[] }[];

async function read(
  port: ViewRepairPort,
  targets: readonly RollupTarget[],
  r: OffsetRange,
): Promise<Reading> {
  const out: Reading = [];
  for (const target of targets) out.push({ target, rows: await port.diff(target, r) });
  return out;
}

const same = (a: Reading, b: Reading): boolean =>
  JSON.stringify(a.map((x) => x.rows)) === JSON.stringify(b.map((x) => x.rows));

/** One attempt: versions first (only this partition writes them), then the rollups. */
export async function repairOnce(
  port: ViewRepairPort,
  targets: readonly RollupTarget[],
  r: OffsetRange,
  settle: () => Promise<void>,
): Promise<RepairOutcome> {
  const versions = await port.repairVersions(r);
  if (await port.replicationBacklog()) return { kind: 'unsettled', reason: 'replication queue not empty' };
  const first = await read(port, targets, r);
  if (first.every((x) => x.rows.length === 0))
    return versions === 0 ? { kind: 'clean' } : { kind: 'repaired', versions, targets: [] };
  await settle();
  if (await port.replicationBacklog()) return { kind: 'unsettled', reason: 'replication queue not empty' };
  const second = await read(port, targets, r);
  if (!same(first, second))
    return { kind: 'unsettled', reason: 'the differences moved between two readings' };
  const repaired: { target: string; keys: number }[] = [];
  for (const { target, rows } of second) {
    if (rows.length === 0) continue;
    await port.insertDiff(target, rows);
    repaired.push({ target: target.target, keys: rows.length });
  }
  return { kind: 'repaired', versions, targets: repaired };
}

export interface ViewRepairerDeps {
  /** the port and the targets, loaded when first needed */
  views: () => Promise<{ port: ViewRepairPort; targets: readonly RollupTarget[] }>;
  /** shared with the change inserts */
  serial: Serial;
  metrics: Metrics;
  logger: Pick<Logger, 'warn' | 'error'>;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** between the two readings */
  settleMs: number;
  /** after this long unsettled, the rows are left as they are, loudly */
  giveUpAfterMs: number;
}

export class ViewRepairer {
  constructor(private readonly deps: ViewRepairerDeps) {}

  /** Repairs until settled, or gives up after giveUpAfterMs (logged and counted, never silent). */
  async repair(ctx: BatchContext, r: OffsetRange): Promise<RepairOutcome> {
    const { deps } = this;
    const t0 = deps.now();
    const { port, targets } = await deps.views();
    let wait = 500; // ms
    for (;;) {
      const out = await deps.serial.run(() => repairOnce(port, targets, r, () => deps.sleep(deps.settleMs)));
      this.record(r, out);
      if (out.kind !== 'unsettled') return out;
      if (deps.now() - t0 >= deps.giveUpAfterMs) {
        deps.metrics.inc(
          'aggregator_view_repair_unsettled_total',
          'view repairs given up (run reprocess)',
          1,
        );
        deps.logger.error(
          { partition: r.partition, from: String(r.from), to: String(r.to), reason: out.reason },
          'view targets may lack these change rows; the repair did not settle (npm run reprocess rebuilds them)',
        );
        return out;
      }
      await deps.sleep(wait);
      if (!ctx.isActive()) throw new TransientError('consumer stopping; abandoning the view repair');
      await ctx.heartbeat();
      wait = Math.min(wait * 2, 10_000); // ms
    }
  }

  /**
   * Waits (up to giveUpAfterMs) until no replicated table has parts still to fetch, so that
   * the watermarks read next include every insert another replica took: a partition that moved
   * from an aggregator writing to the other replica would otherwise be applied again from a
   * watermark that is too low. Resolves to false when it gave up (logged).
   */
  async awaitReplication(ctx: BatchContext): Promise<boolean> {
    const { deps } = this;
    const { port } = await deps.views();
    const t0 = deps.now();
    while (await port.replicationBacklog()) {
      if (deps.now() - t0 >= deps.giveUpAfterMs) {
        deps.logger.warn(
          { partition: ctx.partition },
          'replication still behind; reading the watermarks anyway',
        );
        return false;
      }
      await deps.sleep(250); // ms
      if (!ctx.isActive()) throw new TransientError('consumer stopping; abandoning the batch');
      await ctx.heartbeat();
    }
    return true;
  }

  private record(r: OffsetRange, out: RepairOutcome): void {
    const { metrics, logger } = this.deps;
    metrics.inc(
      'aggregator_view_checks_total',
      'view checks of change rows that may have landed in part',
      1,
      {
        outcome: out.kind,
      },
    );
    if (out.kind !== 'repaired') return;
    for (const t of out.targets)
      metrics.inc('aggregator_view_repaired_keys_total', 'target keys completed by the view repair', t.keys, {
        target: t.target,
      });
    logger.warn(
      {
        partition: r.partition,
        from: String(r.from),
        to: String(r.to),
        versions: out.versions,
        targets: out.targets,
      },
      'view targets lacked change rows; completed them',
    );
  }
}
