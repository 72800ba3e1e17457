import { describe, expect, it } from 'vitest';
import type { IsoDay } from '../dates.js';
import { V1_BY_PATH } from './endpoints.js';
import { parseV1Params } from './query-params.js';

const today = '2026-12-07' as IsoDay;
const parse = (path: string, qs: string) => {
  const e = V1_BY_PATH.get(path);
  if (!e) throw new Error(path);
  return parseV1Params(e, new URLSearchParams(qs), today);
};

describe('parseV1Params', () => {
  it('fills the defaults and fixes the dimension by the path; keys as the page does', () => {
    const got = parse('/versions/parsl', 'top=5');
    expect(got).toEqual({
      ok: true,
      request: {
        ok: true,
        params: {
          panel: 'dimension',
          from: '2025-12-08',
          to: '2026-12-07',
          granularity: 'week',
          top: 5,
          dimension: 'parsl_version',
        },
        key: 'dimension?from=2025-12-08&to=2026-12-07&granularity=week&top=5&dimension=parsl_version',
      },
    });
  });

  it.each([
    ['/headline', 'granularity=day', 'granularity', 'unknown parameter'],
    ['/headline', 'dimension=platform', 'dimension', 'unknown parameter'],
    ['/platforms', 'dimension=python_minor', 'dimension', 'unknown parameter'],
    ['/headline', 'from=2026-02-30', 'from', 'must be a date'],
    ['/headline', 'to=1969-12-31', 'to', 'must be a date'],
    ['/headline', 'to=2106-01-01', 'to', 'must be a date'],
    ['/headline', 'from=2026-12-07&to=2026-01-01', 'from', 'must not be after to'],
    ['/headline', 'from=2000-01-01&to=2026-01-01', 'from', 'range longer than'],
    ['/workflows', 'granularity=hour', 'granularity', 'must be one of day, week, month'],
    ['/leaderboard', 'top=0', 'top', 'from 1 to 50'],
    ['/leaderboard', 'top=51', 'top', 'from 1 to 50'],
    ['/leaderboard', 'top=1e1', 'top', 'from 1 to 50'],
    ['/leaderboard', 'top=5&top=6', 'top', 'more than once'],
    ['/leaderboard', `top=${'9'.repeat(40)}`, 'top', 'longer than 32'],
    ['/leaderboard', `${'x'.repeat(500)}=1`, `${'x'.repeat(40)}...`, 'unknown parameter'],
    ['/leaderboard', 'a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9', 'i', 'more than 8 parameters'],
  ])('%s?%s: 400 naming %s', (path, qs, parameter, message) => {
    const got = parse(path, qs);
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.parameter).toBe(parameter);
    expect(got.error).toContain(message);
    expect(got.error.length).toBeLessThan(200);
  });
});
