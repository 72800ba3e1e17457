import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { IdFilter } from './id-filter.js';
import type { BatchContext, WorkflowSink } from '../ports.js';
import { untilDone } from '../sink/sink-retry.js';

/**
 * The stored-id filter's lifecycle (id-filter.ts is the filter itself). The filter only grows
 * for the life of the process; a group join rebuilds it from ClickHouse, for the ids other
 * instances wrote, and ORs the old bits back in. Batches read the current filter through
 * `view`, so an id added while a rebuild runs lands in the old bits, which the rebuild carries
 * over.
 */
export class StoredIds {
  private filter: IdFilter | null = null;
  private ready: Promise<void> | null = null;

  /** What processBatch consults: absent ids are new workflows and skip the look-up. */
  readonly view = {
    mightContain: (id: string): boolean => this.filter?.mightContain(id) ?? true,
    add: (id: string): void => this.filter?.add(id),
  };

  constructor(
    private readonly deps: {
      sink: Pick<WorkflowSink, 'forEachStoredHash' | 'unconfirmedParts'>;
      metrics: Metrics;
      logger: Pick<Logger, 'info' | 'warn'>;
      now: () => number;
      /** workflow ids the filter is sized for */
      capacity: number;
    },
  ) {}

  /** Builds the filter once per assignment; every batch awaits it. */
  ensure(ctx: BatchContext): Promise<void> {
    this.ready ??= untilDone(this.deps, ctx, 'stored ids', () => this.rebuild(ctx)).catch((err: unknown) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  /** Another instance may have written ids meanwhile: the next batch rebuilds. */
  reset(): void {
    this.ready = null;
  }

  private async rebuild(ctx: BatchContext): Promise<void> {
    const { sink, metrics, logger, now, capacity } = this.deps;
    const t0 = now();
    const fresh = new IdFilter({ capacity });
    // Tens of millions of ids take tens of seconds: keep the group membership alive meanwhile
    // (kafkajs sends at most one heartbeat per heartbeatInterval, so calling often is cheap).
    const stored = await sink.forEachStoredHash(
      (h1, h2) => fresh.addHashes(h1, h2),
      () => ctx.heartbeat(),
    );
    if (this.filter !== null) fresh.union(this.filter);
    this.filter = fresh;
    const fill = fresh.fill;
    metrics.set('aggregator_id_filter_fill_ratio', 'share of the stored-id filter bits set', fill);
    const detail = { stored, ms: now() - t0, fill, falsePositiveRate: fresh.falsePositiveRate, capacity };
    if (fill > 0.5)
      logger.warn(detail, 'stored-id filter is past its capacity; raise AGG_ID_FILTER_CAPACITY');
    else logger.info(detail, 'stored-id filter built');
  }
}
