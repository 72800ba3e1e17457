/**
 * The tracking data's own health: of the level-3 runs launched in the RELEASE_HEALTH_DAYS days
 * whose join window has fully elapsed, how many received a closure (`completed`) and how many
 * did not (`unfinished`). Prometheus turns them into a share (infra/prometheus/recording.yml,
 * parsl_usage:level3_closure_share). Days still inside the window are left out, because their
 * runs may yet close: counting them would bias the share upwards.
 */
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { addDays, dayOf } from './dates.js';
import type { PanelAnswer } from './panel-computation.js';
import type { PanelRequest } from './panel-answer-cache.js';
import { parsePanelParams } from './params.js';
import { RELEASE_HEALTH_DAYS } from './release-health-metrics.js';

const HELP = `level-3 runs launched in the ${RELEASE_HEALTH_DAYS} days before the join window, by whether a closure arrived`;

export interface ClosureMetricsOptions {
  /** the workflows panel's answer, through the cache */
  answer: (req: PanelRequest) => Promise<{ value: { answer: Pick<PanelAnswer, 'columns' | 'rows'> } }>;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** the join window in days (DASH_UNFINISHED_AFTER_DAYS) */
  unfinishedAfterDays: number;
}

/** Sums a column of the workflows panel over its periods. */
function total(a: Pick<PanelAnswer, 'columns' | 'rows'>, column: string): number {
  const i = a.columns.indexOf(column);
  return a.rows.reduce((s, r) => s + Number(r[i] ?? 0), 0);
}

/** Sets dashboard_level3_runs{outcome} from the workflows panel (before each /metrics); never throws. */
export function closureMetrics(o: ClosureMetricsOptions): () => Promise<void> {
  return async () => {
    const to = addDays(dayOf(o.now()), -(o.unfinishedAfterDays + 1));
    const parsed = parsePanelParams(
      'workflows',
      new URLSearchParams({ from: addDays(to, -(RELEASE_HEALTH_DAYS - 1)), to, granularity: 'month' }),
      dayOf(o.now()),
    );
    if (!parsed.ok) return;
    try {
      const { value } = await o.answer(parsed);
      o.metrics.set('dashboard_level3_runs', HELP, total(value.answer, 'completed'), {
        outcome: 'completed',
      });
      o.metrics.set('dashboard_level3_runs', HELP, total(value.answer, 'unfinished'), {
        outcome: 'unfinished',
      });
    } catch (err) {
      // The gauges keep their last values; dashboard_clickhouse_queries_total counts the failure.
      o.logger.warn({ err }, 'level-3 closure metrics not computed');
    }
  };
}
