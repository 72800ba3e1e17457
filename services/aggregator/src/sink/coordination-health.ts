import type { Metrics } from '@parsl-usage/common';
import { clickHouseErrorCodeDeep, describeClickHouseCode, isCoordinationCode } from './clickhouse-errors.js';

/**
 * Whether this aggregator's ClickHouse refuses inserts because it lost its coordination service
 * (ZooKeeper or Keeper; clickhouse-errors.ts lists the codes). The process is fine and its
 * inserts retry until the quorum is back, so /healthz stays 200 (a restart would not help) but
 * says `degraded` with the reason, and the gauge drives the alert (infra/prometheus/alerts.yml,
 * ClickHouseCoordinationLost).
 *
 * Lost from a failure with a coordination code; back on the first insert that succeeds, or the
 * first success of an operation that itself failed that way. Without either, the state lapses
 * `staleAfterMs` after the last such failure: the retries repeat every 30 s at most
 * (sink-retry.ts), so a quieter failure means the batch was given up (the partition moved or
 * the consumer stopped) and nothing here knows any more whether the server can write.
 */
export interface CoordinationLoss {
  /** 'clickhouse_coordination_lost' */
  reason: string;
  /** the last code seen, named: "242 TABLE_IS_READ_ONLY" */
  code: string;
  /** ms since the epoch: the first failure of this loss */
  since: number;
  /** ms since the epoch: the latest failure */
  lastAt: number;
  /** the operation that saw the latest failure: "insert changes" */
  op: string;
  /** the latest failure's message, cut to 300 characters */
  error: string;
}

export const COORDINATION_LOST = 'clickhouse_coordination_lost';
const GAUGE = 'aggregator_clickhouse_coordination_lost';
const ERRORS = 'aggregator_clickhouse_coordination_errors_total';

export class CoordinationHealth {
  private loss: CoordinationLoss | null = null;

  constructor(
    private readonly deps: {
      metrics: Metrics;
      now: () => number;
      /** ms without a coordination failure after which a loss is no longer reported (default 90,000) */
      staleAfterMs?: number;
    },
  ) {}

  /**
   * A retried operation failed. Returns true when the failure is a coordination loss, which the
   * caller then remembers so that its own success counts as the recovery.
   */
  failed(op: string, err: unknown): boolean {
    const code = clickHouseErrorCodeDeep(err);
    if (!isCoordinationCode(code)) return false;
    const now = this.deps.now();
    const named = describeClickHouseCode(code ?? 0);
    this.deps.metrics.inc(ERRORS, 'ClickHouse failures meaning its coordination service is lost', 1, {
      code: named,
    });
    const message = err instanceof Error ? err.message : String(err);
    this.loss = {
      reason: COORDINATION_LOST,
      code: named,
      since: this.current()?.since ?? now,
      lastAt: now,
      op,
      error: message.slice(0, 300),
    };
    return true;
  }

  /** An operation succeeded; `proves` when it could not have without coordination. */
  succeeded(proves: boolean): void {
    if (proves) this.loss = null;
  }

  /** The loss in effect, or null. */
  current(): CoordinationLoss | null {
    const loss = this.loss;
    if (loss === null) return null;
    if (this.deps.now() - loss.lastAt >= (this.deps.staleAfterMs ?? 90_000)) {
      this.loss = null;
      return null;
    }
    return loss;
  }

  /** Sets the gauge (at each scrape, so that a lapsed loss reads 0). */
  export(): void {
    this.deps.metrics.set(
      GAUGE,
      "1 while this aggregator's ClickHouse refuses inserts for lack of ZooKeeper/Keeper",
      this.current() === null ? 0 : 1,
    );
  }
}
