/**
 * The warmer's wiring: the page's default view (default-view-requests.ts), renewed in the cache every
 * half TTL (so before it expires), with its rounds counted in the metrics and the log.
 */
import type { Logger } from 'pino';
import type { Metrics } from '@parsl-usage/common';
import { dayOf } from './dates.js';
import { defaultViewRequests } from './default-view-requests.js';
import type { PanelRequest } from './panel-answer-cache.js';
import { parsePanelParams } from './params.js';
import { createWarmer, type RoundReport, type Warmer, type WarmerClock } from './warm-scheduler.js';

/**
 * Answers the warmer computes at once: the page's own load asks up to 6 at a time (Chromium's
 * per-host limit), so warming takes at most a third of that, beside real visitors.
 */
export const WARM_CONCURRENCY = 2;
/** the shortest period between rounds, whatever the TTL */
const MIN_EVERY_MS = 1_000;

export interface DefaultViewWarmerOptions {
  /** off unless true */
  warm?: boolean;
  /** the answers' TTL; 0 keeps nothing, so there is nothing to warm */
  cacheTtlMs: number;
  /** computes an answer into the cache */
  refresh: (req: PanelRequest) => Promise<void>;
  clock: WarmerClock;
  now: () => number;
  metrics: Metrics;
  logger: Logger;
}

/** The warmer of the page's default view, or null when warming is off or nothing is kept. */
export function defaultViewWarmer(o: DefaultViewWarmerOptions): Warmer | null {
  if (o.warm !== true || !(o.cacheTtlMs > 0)) return null;
  return createWarmer({
    jobs: () => defaultViewJobs(o),
    everyMs: Math.max(MIN_EVERY_MS, Math.floor(o.cacheTtlMs / 2)),
    concurrency: WARM_CONCURRENCY,
    clock: o.clock,
    onRound: (r) => reportRound(r, o),
  });
}

function defaultViewJobs(o: DefaultViewWarmerOptions): Array<() => Promise<void>> {
  const today = dayOf(o.now());
  return defaultViewRequests(today).flatMap(({ panel, search }) => {
    const parsed = parsePanelParams(panel, search, today);
    if (!parsed.ok) throw new Error(`default view request refused: ${parsed.message}`);
    return [() => o.refresh(parsed)];
  });
}

function reportRound(r: RoundReport, o: Pick<DefaultViewWarmerOptions, 'metrics' | 'logger'>): void {
  o.metrics.inc('dashboard_warmer_rounds_total', 'rounds of the default-view warmer', 1, {
    result: r.failed > 0 ? 'failed' : 'ok',
  });
  o.metrics.set('dashboard_warmer_last_round_seconds', 'duration of the last warm-up round', r.ms / 1000);
  if (r.failed > 0)
    o.logger.warn({ failed: r.failed, jobs: r.jobs, err: r.errors[0] }, 'warm-up round had failures');
  else o.logger.debug({ jobs: r.jobs, ms: r.ms }, 'warm-up round');
}

/** What /healthz shows of the warmer. */
export function warmerHealth(w: Warmer): {
  healthy: boolean;
  rounds: number;
  lastRoundMs: number | null;
  lastFailed: number | null;
} {
  const st = w.state();
  return {
    healthy: w.isHealthy(),
    rounds: st.rounds,
    lastRoundMs: st.last?.ms ?? null,
    lastFailed: st.last?.failed ?? null,
  };
}
