import { describe, expect, it } from 'vitest';
import type { IsoDay } from './dates.js';
import { parsePanelParams, type Panel } from './params.js';

const today = '2026-11-26' as IsoDay;
const parse = (panel: Panel, qs: string) => parsePanelParams(panel, new URLSearchParams(qs), today);

describe('parsePanelParams', () => {
  it('applies defaults and normalises the cache key', () => {
    const a = parse('dimension', 'dimension=python_minor');
    const b = parse('dimension', 'top=10&dimension=python_minor&granularity=week&to=2026-11-26');
    expect(a).toMatchObject({
      ok: true,
      params: {
        from: '2025-11-27',
        to: '2026-11-26',
        granularity: 'week',
        top: 10,
        dimension: 'python_minor',
      },
    });
    expect(a.ok && b.ok && a.key === b.key).toBe(true);
  });

  it('keys only the parameters a panel uses', () => {
    const r = parse('headline', 'from=2026-01-01&to=2026-02-01');
    expect(r).toEqual(expect.objectContaining({ ok: true, key: 'headline?from=2026-01-01&to=2026-02-01' }));
  });

  it.each([
    ['workflows', 'from=2026-13-01', 'from'],
    ['workflows', 'to=yesterday', 'to'],
    ['workflows', 'from=2026-02-01&to=2026-01-01', 'from'],
    ['workflows', 'from=2010-01-01&to=2026-01-01', 'from'],
    ['workflows', 'granularity=year', 'granularity'],
    ['workflows', 'granularity=Week', 'granularity'],
    ['workflows', 'top=5', 'top'],
    ['leaderboard', 'top=0', 'top'],
    ['leaderboard', 'top=51', 'top'],
    ['leaderboard', 'top=5.5', 'top'],
    ['leaderboard', 'top=-1', 'top'],
    ['leaderboard', 'top=1e1', 'top'],
    ['dimension', '', 'dimension'],
    ['dimension', 'dimension=project_name', 'dimension'],
    ['dimension', 'dimension=python_minor) UNION SELECT', 'dimension'],
    ['headline', 'from=2026-01-01&from=2026-01-02', 'from'],
    ['headline', "from=2026-01-01'; DROP TABLE x; --", 'from'],
    ['headline', 'evil=1', 'evil'],
    ['headline', `from=${'9'.repeat(10_000)}`, 'from'],
  ] as const)('%s?%s is refused naming %s', (panel, qs, parameter) => {
    const r = parse(panel, qs);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.parameter).toBe(parameter);
      expect(r.message.startsWith(`${parameter}:`)).toBe(true);
    }
  });

  it('accepts exactly 3660 days and the bounds of top', () => {
    expect(parse('leaderboard', 'from=2016-12-09&to=2026-12-16&top=50').ok).toBe(true);
    expect(parse('leaderboard', 'from=2016-12-08&to=2026-12-16&top=1').ok).toBe(false);
    expect(parse('leaderboard', 'top=1').ok).toBe(true);
  });
});
