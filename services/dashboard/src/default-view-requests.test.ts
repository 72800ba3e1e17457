import { describe, expect, it } from 'vitest';
import { addDays, type IsoDay } from './dates.js';
import { defaultViewRequests, PAGE_TOP } from './default-view-requests.js';
import { DEFAULT_SPAN_DAYS, DIMENSIONS, parsePanelParams } from './params.js';

const TODAY = '2026-03-15' as IsoDay;

describe('defaultViewRequests', () => {
  const requests = defaultViewRequests(TODAY);

  it('asks the 14 answers of the page, the slowest (leaderboard) first', () => {
    expect(requests.map((r) => r.panel)).toEqual([
      'leaderboard',
      'headline',
      'adoption',
      'release-health',
      'workflows',
      'apps',
      'exec-time',
      'install-age',
      ...Array<string>(6).fill('dimension'),
    ]);
  });

  it.each(defaultViewRequests(TODAY).map((r) => [`${r.panel} ${r.search.toString()}`, r] as const))(
    '%s: accepted, over the default span ending today',
    (_name, r) => {
      const parsed = parsePanelParams(r.panel, r.search, TODAY);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) return;
      expect(parsed.params.to).toBe(TODAY);
      expect(parsed.params.from).toBe(addDays(TODAY, -(DEFAULT_SPAN_DAYS - 1)));
    },
  );

  it('asks per week and the page top where the panel takes them', () => {
    for (const r of requests) {
      const g = r.search.get('granularity');
      const top = r.search.get('top');
      if (['workflows', 'apps', 'adoption', 'dimension'].includes(r.panel)) expect(g).toBe('week');
      else expect(g).toBeNull();
      if (['leaderboard', 'adoption', 'dimension'].includes(r.panel)) expect(top).toBe(String(PAGE_TOP));
      else expect(top).toBeNull();
    }
  });

  it('asks distinct dimensions, each a known one', () => {
    const dims = requests.filter((r) => r.panel === 'dimension').map((r) => r.search.get('dimension'));
    expect(new Set(dims).size).toBe(dims.length);
    for (const d of dims) expect(DIMENSIONS).toContain(d);
  });

  it('moves with the day', () => {
    const next = defaultViewRequests(addDays(TODAY, 1));
    expect(next[0]?.search.get('to')).toBe('2026-03-16');
  });
});
