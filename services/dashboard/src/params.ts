/**
 * The only way client text enters the dashboard: every API parameter is checked here against a
 * fixed grammar, and what comes out is typed values (IsoDay, enum members, small integers).
 * SQL is built from these values alone (see queries.ts), never from the request's text.
 */
import { addDays, daysBetween, parseIsoDay, type IsoDay } from './dates.js';

export const PANELS = [
  'headline',
  'workflows',
  'apps',
  'dimension',
  'exec-time',
  'install-age',
  'adoption',
  'leaderboard',
  'release-health',
] as const;
export type Panel = (typeof PANELS)[number];

export const GRANULARITIES = ['day', 'week', 'month'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/** Single-valued dimensions live in rollup_daily_dimension; components in rollup_daily_component. */
export const DIMENSIONS = [
  'python_minor',
  'parsl_version',
  'platform',
  'tracking_level',
  'executor',
  'provider',
  'launcher',
] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export const MAX_SPAN_DAYS = 3_660;
export const DEFAULT_SPAN_DAYS = 365;
export const TOP_MIN = 1;
export const TOP_MAX = 50;
const DEFAULT_TOP = 10;
/** Longer values are refused before any parsing: no legitimate value is near this. */
const MAX_VALUE_CHARS = 32;

type ParamName = 'from' | 'to' | 'granularity' | 'top' | 'dimension';

/** Which parameters each panel takes; anything else is refused. */
const ACCEPTS: Record<Panel, readonly ParamName[]> = {
  headline: ['from', 'to'],
  workflows: ['from', 'to', 'granularity'],
  apps: ['from', 'to', 'granularity'],
  dimension: ['from', 'to', 'granularity', 'top', 'dimension'],
  'exec-time': ['from', 'to'],
  'install-age': ['from', 'to'],
  adoption: ['from', 'to', 'granularity', 'top'],
  leaderboard: ['from', 'to', 'top'],
  'release-health': ['from', 'to'],
};

export interface PanelParams {
  panel: Panel;
  from: IsoDay;
  to: IsoDay;
  granularity: Granularity;
  top: number;
  dimension: Dimension;
}

export type ParamsOutcome =
  { ok: true; params: PanelParams; key: string } | { ok: false; parameter: string; message: string };

function bad(parameter: string, message: string): ParamsOutcome {
  // The name is echoed in JSON only (escaped), and cut short so a huge name cannot bloat the reply.
  const name = parameter.length > 40 ? `${parameter.slice(0, 40)}...` : parameter;
  return { ok: false, parameter: name, message: `${name}: ${message}` };
}

function isMember<T extends string>(list: readonly T[], v: string): v is T {
  return (list as readonly string[]).includes(v);
}

/** Validates the query string of one panel; `today` is the default end of the range. */
export function parsePanelParams(panel: Panel, query: URLSearchParams, today: IsoDay): ParamsOutcome {
  const accepted = ACCEPTS[panel];
  const raw: Partial<Record<ParamName, string>> = {};
  for (const name of new Set(query.keys())) {
    if (!isMember(accepted, name)) return bad(name, `unknown parameter for ${panel}`);
    const values = query.getAll(name);
    if (values.length !== 1) return bad(name, 'given more than once');
    const v = values[0] ?? '';
    if (v.length > MAX_VALUE_CHARS) return bad(name, `longer than ${MAX_VALUE_CHARS} characters`);
    raw[name] = v;
  }

  let to = today;
  if (raw.to !== undefined) {
    const d = parseIsoDay(raw.to);
    if (!d) return bad('to', 'must be a date YYYY-MM-DD between 1970-01-01 and 2105-12-31');
    to = d;
  }
  let from = addDays(to, -(DEFAULT_SPAN_DAYS - 1));
  if (from < '1970-01-01') from = '1970-01-01' as IsoDay;
  if (raw.from !== undefined) {
    const d = parseIsoDay(raw.from);
    if (!d) return bad('from', 'must be a date YYYY-MM-DD between 1970-01-01 and 2105-12-31');
    from = d;
  }
  if (from > to) return bad('from', `must not be after to (${to})`);
  if (daysBetween(from, to) + 1 > MAX_SPAN_DAYS)
    return bad('from', `range longer than ${MAX_SPAN_DAYS} days`);

  let granularity: Granularity = 'week';
  if (raw.granularity !== undefined) {
    if (!isMember(GRANULARITIES, raw.granularity)) return bad('granularity', 'must be day, week or month');
    granularity = raw.granularity;
  }

  let top = DEFAULT_TOP;
  if (raw.top !== undefined) {
    if (!/^[0-9]{1,2}$/.test(raw.top)) return bad('top', `must be an integer from ${TOP_MIN} to ${TOP_MAX}`);
    top = Number(raw.top);
    if (top < TOP_MIN || top > TOP_MAX) return bad('top', `must be an integer from ${TOP_MIN} to ${TOP_MAX}`);
  }

  let dimension: Dimension = 'python_minor';
  if (accepted.includes('dimension')) {
    if (raw.dimension === undefined) return bad('dimension', `required, one of ${DIMENSIONS.join(', ')}`);
    if (!isMember(DIMENSIONS, raw.dimension))
      return bad('dimension', `must be one of ${DIMENSIONS.join(', ')}`);
    dimension = raw.dimension;
  }

  const params: PanelParams = { panel, from, to, granularity, top, dimension };
  // The key holds only what the panel uses, after defaults: equal answers share one entry.
  const used: string[] = accepted.map((name) => `${name}=${String(params[name])}`);
  return { ok: true, params, key: `${panel}?${used.join('&')}` };
}
