/**
 * The API requests the page (public/dashboard.js) makes on first load with its default controls
 * (it asks /api/v1/..., whose answers are these panels' cache entries, api-v1/query-params.ts):
 * the last DEFAULT_SPAN_DAYS days ending today (UTC), per week, top 8. The warmer keeps exactly
 * these answers in the cache, so the parameters must stay those the page sends; the first ones
 * are the slowest to compute, so a warm-up round starts with them.
 */
import { addDays, type IsoDay } from './dates.js';
import { DEFAULT_SPAN_DAYS, type Panel } from './params.js';

export interface ViewRequest {
  panel: Panel;
  search: URLSearchParams;
}

/** The page's default "top" (its form's initial value). */
export const PAGE_TOP = 8;
const PAGE_DIMENSIONS = ['python_minor', 'parsl_version', 'platform', 'executor', 'provider', 'launcher'];

export function defaultViewRequests(today: IsoDay): ViewRequest[] {
  const range = { from: addDays(today, -(DEFAULT_SPAN_DAYS - 1)), to: today };
  const req = (panel: Panel, extra: Record<string, string> = {}): ViewRequest => ({
    panel,
    search: new URLSearchParams({ ...range, ...extra }),
  });
  const week = { granularity: 'week' };
  const top = String(PAGE_TOP);
  return [
    req('leaderboard', { top }),
    req('headline'),
    req('adoption', { ...week, top }),
    req('release-health'),
    req('workflows', week),
    req('apps', week),
    req('exec-time'),
    req('install-age'),
    ...PAGE_DIMENSIONS.map((dimension) => req('dimension', { ...week, top, dimension })),
  ];
}
