import { describe, expect, it } from 'vitest';
import { DIMENSIONS, PANELS } from '../params.js';
import { RELEASE_HEALTH_COLUMNS } from '../panel-computation.js';
import { V1_BY_PATH, V1_ENDPOINTS } from './endpoints.js';

describe('V1_ENDPOINTS', () => {
  it('has one entry per path, and the look-up finds each', () => {
    const paths = V1_ENDPOINTS.map((e) => e.path);
    expect(new Set(paths).size).toBe(paths.length);
    for (const e of V1_ENDPOINTS) expect(V1_BY_PATH.get(e.path)).toBe(e);
    expect(V1_BY_PATH.size).toBe(V1_ENDPOINTS.length);
  });

  it('serves every panel', () => {
    expect(new Set(V1_ENDPOINTS.map((e) => e.panel))).toEqual(new Set(PANELS));
  });

  it('serves every dimension once, through the dimension panel', () => {
    const ranked = V1_ENDPOINTS.filter((e) => e.panel === 'dimension');
    expect(ranked.map((e) => e.dimension).sort()).toEqual([...DIMENSIONS].sort());
    for (const e of ranked) {
      expect(e.columns.slice(0, 2)).toEqual(['rank', e.dimension]);
      expect(e.params).toEqual(['from', 'to', 'granularity', 'top']);
    }
    for (const e of V1_ENDPOINTS.filter((x) => x.panel !== 'dimension')) expect(e.dimension).toBeUndefined();
  });

  it.each(V1_ENDPOINTS.map((e) => [e.path, e] as const))(
    '%s: a path under /, from and to, unique columns',
    (path, e) => {
      expect(path).toMatch(/^\/[a-z]+(?:[/-][a-z]+)*$/);
      expect(e.params.slice(0, 2)).toEqual(['from', 'to']);
      expect(new Set(e.columns).size).toBe(e.columns.length);
      expect(e.summary.length).toBeGreaterThan(0);
    },
  );

  it('lists the release-health panel columns', () => {
    expect(V1_BY_PATH.get('/release-health')?.columns).toEqual([...RELEASE_HEALTH_COLUMNS]);
  });
});
