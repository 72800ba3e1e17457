/**
 * What the release-health panel computes, as metrics, so that an alert fires when a Parsl
 * release goes silent (issue #4038): the panel over the last RELEASE_HEALTH_DAYS, through the
 * cache (so at most one computation per cache TTL, however often Prometheus scrapes). Labels
 * name only flagged releases of that window: a few dates at most, never client text.
 */
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { addDays, dayOf } from './dates.js';
import type { PanelAnswer } from './panel-computation.js';
import type { PanelRequest } from './panel-answer-cache.js';
import { parsePanelParams } from './params.js';

/** Days of history the release-health metrics judge (the alert's view of "now"). */
export const RELEASE_HEALTH_DAYS = 30;

export interface ReleaseHealthOptions {
  /** the panel's answer, through the cache */
  answer: (req: PanelRequest) => Promise<{ value: { answer: Pick<PanelAnswer, 'columns' | 'rows'> } }>;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
}

/** The releases the panel flags: those that send nothing or far less than expected. */
export function flaggedReleases(
  a: Pick<PanelAnswer, 'columns' | 'rows'>,
): Array<{ release: string; status: string }> {
  const col = (name: string) => a.columns.indexOf(name);
  return a.rows
    .filter((r) => r[col('status')] === 'missing' || r[col('status')] === 'collapsed')
    .map((r) => ({ release: String(r[col('release')]), status: String(r[col('status')]) }));
}

/** Sets the release-health gauges from the panel (before each /metrics); never throws. */
export function releaseHealthMetrics(o: ReleaseHealthOptions): () => Promise<void> {
  const { metrics, logger } = o;
  return async () => {
    const today = dayOf(o.now());
    const parsed = parsePanelParams(
      'release-health',
      new URLSearchParams({ from: addDays(today, -(RELEASE_HEALTH_DAYS - 1)), to: today }),
      today,
    );
    if (!parsed.ok) return;
    try {
      const { value } = await o.answer(parsed);
      const flagged = flaggedReleases(value.answer);
      metrics.set('dashboard_release_health_up', 'the release-health metrics could be computed', 1);
      metrics.set(
        'dashboard_release_health_flagged',
        `releases of the last ${RELEASE_HEALTH_DAYS} days that send nothing or far less than expected`,
        flagged.length,
      );
      metrics.clear('dashboard_release_health_flagged_release');
      for (const labels of flagged)
        metrics.set(
          'dashboard_release_health_flagged_release',
          'a flagged release (value 1) and why',
          1,
          labels,
        );
    } catch (err) {
      metrics.set('dashboard_release_health_up', 'the release-health metrics could be computed', 0);
      logger.warn({ err }, 'release-health metrics not computed');
    }
  };
}
