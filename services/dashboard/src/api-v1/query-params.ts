/**
 * The query string of a v1 request, checked with zod against the endpoint's parameters, then
 * against the range rules of the panels (params.ts), so the API and the page refuse the same
 * things. Pure: the outcome is the panel request (with its cache key) or the 400's body.
 */
import { z } from 'zod';
import { parseIsoDay, type IsoDay } from '../dates.js';
import { GRANULARITIES, parsePanelParams, TOP_MAX, TOP_MIN } from '../params.js';
import type { PanelRequest } from '../panel-answer-cache.js';
import type { V1Endpoint, V1Param } from './endpoints.js';

/** Longer values and names are refused before anything else looks at them. */
export const MAX_VALUE_CHARS = 32;
/** More parameters than any endpoint takes is refused at once (no endpoint takes more than 4). */
export const MAX_PARAMS = 8;

const day = z
  .string()
  .max(MAX_VALUE_CHARS)
  .refine((s) => parseIsoDay(s) !== null, 'must be a date YYYY-MM-DD between 1970-01-01 and 2105-12-31');

/** The grammar of each parameter; the range rules (from <= to, the longest span) are params.ts's. */
export const V1_PARAM_SCHEMAS = {
  from: day.describe('first day of the period, inclusive (UTC); default: 364 days before `to`'),
  to: day.describe('last day of the period, inclusive (UTC); default: today'),
  granularity: z
    .enum(GRANULARITIES, { errorMap: () => ({ message: `must be one of ${GRANULARITIES.join(', ')}` }) })
    .describe('length of each period of a series; default week'),
  top: z
    .string()
    .regex(/^[0-9]{1,2}$/, `must be an integer from ${TOP_MIN} to ${TOP_MAX}`)
    .refine(
      (s) => Number(s) >= TOP_MIN && Number(s) <= TOP_MAX,
      `must be an integer from ${TOP_MIN} to ${TOP_MAX}`,
    )
    .describe('how many values, releases or projects to rank; default 10'),
} as const satisfies Record<V1Param, z.ZodTypeAny>;

export type V1ParamsOutcome =
  { ok: true; request: PanelRequest } | { ok: false; parameter: string; error: string };

/** A name as echoed in an error: cut short, so a huge name cannot bloat the answer. */
function shown(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}...` : name;
}

function refuse(parameter: string, message: string): Extract<V1ParamsOutcome, { ok: false }> {
  const p = shown(parameter);
  return { ok: false, parameter: p, error: `${p}: ${message}` };
}

function schemaFor(e: V1Endpoint) {
  const shape: Partial<Record<V1Param, z.ZodTypeAny>> = {};
  for (const p of e.params) shape[p] = V1_PARAM_SCHEMAS[p].optional();
  return z.object(shape).strict();
}

/** Each parameter at most once, few of them, none long: checked before zod sees the object. */
function flatten(
  query: URLSearchParams,
): { ok: true; raw: Record<string, string> } | Extract<V1ParamsOutcome, { ok: false }> {
  const names = [...new Set(query.keys())];
  if (names.length > MAX_PARAMS) return refuse(names[MAX_PARAMS] ?? '', `more than ${MAX_PARAMS} parameters`);
  const out: Record<string, string> = {};
  for (const name of names) {
    const values = query.getAll(name);
    if (values.length !== 1) return refuse(name, 'given more than once');
    const v = values[0] ?? '';
    if (v.length > MAX_VALUE_CHARS) return refuse(name, `longer than ${MAX_VALUE_CHARS} characters`);
    out[name] = v;
  }
  return { ok: true, raw: out };
}

/** Checks one request's query string for endpoint `e`; `today` is the default end of the period. */
export function parseV1Params(e: V1Endpoint, query: URLSearchParams, today: IsoDay): V1ParamsOutcome {
  const flat = flatten(query);
  if (!flat.ok) return flat;
  const { raw } = flat;
  const parsed = schemaFor(e).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys')
      return refuse(issue.keys[0] ?? '', `unknown parameter; this endpoint takes ${e.params.join(', ')}`);
    return refuse(String(issue?.path[0] ?? ''), issue?.message ?? 'invalid');
  }
  const qs = new URLSearchParams(raw);
  if (e.dimension) qs.set('dimension', e.dimension);
  const checked = parsePanelParams(e.panel, qs, today);
  if (!checked.ok) return { ok: false, parameter: checked.parameter, error: checked.message };
  return { ok: true, request: checked };
}
