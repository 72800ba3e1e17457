/**
 * A panel's answer as the public API publishes it (docs/API.md): the same table, chart data and
 * summary, without what is not meant to leave the service. Pure.
 * - The time the answer was computed is dropped: it is not a figure, and an answer whose bytes
 *   change with each computation could never be revalidated by its ETag.
 * - The time data last arrived is cut to its day: no time finer than a day is published.
 * (Project names under K runs are already left out by the leaderboard's SQL, privacy.ts.)
 */
import type { Cell, PanelAnswer } from '../panel-computation.js';
import { V1_PREFIX, type V1Endpoint } from './endpoints.js';

export interface V1Answer {
  endpoint: string;
  params: Record<string, string | number>;
  columns: string[];
  rows: Cell[][];
  chart: Record<string, unknown>;
  summary?: Record<string, Cell>;
}

/** 2026-12-07T17:09:28.000Z -> 2026-12-07 */
const toDay = (v: Cell): Cell => (typeof v === 'string' ? v.slice(0, 10) : null);

function coarsen(summary: Record<string, Cell>): Record<string, Cell> {
  const out: Record<string, Cell> = {};
  for (const [k, v] of Object.entries(summary))
    if (k === 'last_inserted_at') out.last_inserted_day = toDay(v);
    else out[k] = v;
  return out;
}

export function publicAnswer(e: V1Endpoint, a: PanelAnswer): V1Answer {
  const out: V1Answer = {
    endpoint: `${V1_PREFIX}${e.path}`,
    params: a.params,
    columns: a.columns,
    rows: a.rows,
    chart: a.chart,
  };
  if (a.summary) out.summary = coarsen(a.summary);
  if (e.panel === 'headline')
    out.rows = a.rows.map((r) =>
      r[0] === 'last_inserted_at' ? ['last_inserted_day', toDay(r[1] ?? null)] : r,
    );
  return out;
}
