import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IsoDay } from '../dates.js';
import {
  ROLLUP_FILES,
  publishDay,
  readRow,
  rollupSql,
  type FileRow,
  type RollupFile,
} from './rollup-files.js';

const byName = (n: string): RollupFile => ROLLUP_FILES.find((f) => f.name === n) as RollupFile;

describe('rollup files', () => {
  it('every file: the columns are the day, the keys and the sums, nothing else', () => {
    for (const f of ROLLUP_FILES) {
      const names = f.columns.map((c) => c.name);
      expect(names[0]).toBe('day');
      for (const s of Object.keys(f.sums)) expect(names).toContain(s);
      expect(names.some((n) => /workflow_id|received|inserted/.test(n))).toBe(false);
    }
  });

  it('SQL: real runs only, the day range, sums under their own aliases', () => {
    const sql = rollupSql(byName('dimension'), 'db', '2026-01-01' as IsoDay, '2026-01-31' as IsoDay);
    expect(sql).toContain('FROM db.rollup_daily_dimension');
    expect(sql).toContain("WHERE is_test = 0 AND day >= '2026-01-01' AND day <= '2026-01-31'");
    expect(sql).toContain('sum(workflows) AS s_workflows');
    expect(sql).toContain('GROUP BY day, dimension, value, release_date');
    expect(sql).toContain('toUInt16(release_date) AS release_date');
  });

  it('readRow: Int64 sums as numbers, keys as they are', () => {
    const raw = {
      day: '2026-01-01',
      kind: 'executor',
      component: 'X',
      s_workflows: '7',
      s_apps: '3',
      s_app_fails: '0',
    };
    expect(readRow(byName('component'), raw)).toEqual({
      day: '2026-01-01',
      kind: 'executor',
      component: 'X',
      workflows: 7,
      apps: 3,
      app_fails: 0,
    });
  });

  it('readRow: a date key from its day number (18.16 writes 1970-01-01 as 0000-00-00)', () => {
    const raw = {
      day: '2026-01-01',
      dimension: 'parsl_version',
      value: 'x',
      release_date: 20_454,
      s_workflows: '1',
    };
    expect(readRow(byName('dimension'), { ...raw, s_apps: '0', s_app_fails: '0' }).release_date).toBe(
      '2026-01-01',
    );
    expect(readRow(byName('dimension'), { ...raw, release_date: 0 }).release_date).toBe('1970-01-01');
  });

  it('exec_time: bucket bounds in seconds', () => {
    const rows = publishDay(byName('exec_time'), [{ day: '2026-01-01', bucket: 4, workflows: 2 }], 5);
    expect(rows).toEqual([{ day: '2026-01-01', bucket: 4, lower_s: 2 ** 0.75, upper_s: 2, workflows: 2 }]);
  });
});

describe('project files: the K rule', () => {
  const project = byName('project');
  const row = (name: string, runs: number): FileRow => ({
    day: '2026-01-01',
    project_name: name,
    workflows: runs,
    points: runs * 2,
    apps: runs * 3,
  });

  it.each([
    ['none', [], []],
    ['all under K: one other row', [row('a', 4), row('b', 1)], [['other', true, 5]]],
    [
      'K shown, a real project named other stays apart',
      [row('other', 5), row('b', 2)],
      [
        ['other', false, 5],
        ['other', true, 2],
      ],
    ],
  ] as const)('%s', (_name, rows, want) => {
    const got = publishDay(project, [...rows], 5).map((r) => [r.project_name, r.is_other, r.workflows]);
    expect(got).toEqual(want);
  });

  it('property: a name appears iff it had >= K runs, and no run is lost', () => {
    const rows = fc.uniqueArray(
      fc.record({ name: fc.string({ minLength: 1, maxLength: 6 }), runs: fc.integer({ min: 1, max: 20 }) }),
      { selector: (r) => r.name, maxLength: 30 },
    );
    fc.assert(
      fc.property(rows, fc.integer({ min: 1, max: 10 }), (rs, k) => {
        const out = publishDay(
          project,
          rs.map((r) => row(r.name, r.runs)),
          k,
        );
        const named = out.filter((r) => r.is_other === false).map((r) => r.project_name);
        expect(new Set(named)).toEqual(new Set(rs.filter((r) => r.runs >= k).map((r) => r.name)));
        expect(out.reduce((s, r) => s + Number(r.workflows), 0)).toBe(rs.reduce((s, r) => s + r.runs, 0));
        expect(out.filter((r) => r.is_other === true).length).toBe(rs.some((r) => r.runs < k) ? 1 : 0);
      }),
    );
  });
});
