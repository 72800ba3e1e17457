import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { namedProjectSql, otherProjectSql, publicProjects } from './privacy.js';

const row = (project: string, runs: number, points = runs * 2) => ({ project, runs, points });

describe('publicProjects', () => {
  it.each([
    ['nothing', [], 5, [], { projects: 0, runs: 0 }],
    ['exactly K is shown', [row('a', 5)], 5, ['a'], { projects: 0, runs: 0 }],
    ['K - 1 goes to other', [row('a', 4)], 5, [], { projects: 1, runs: 4, points: 8 }],
    [
      'mixed, order kept',
      [row('b', 9), row('a', 1), row('c', 5), row('d', 2)],
      5,
      ['b', 'c'],
      { projects: 2, runs: 3, points: 6 },
    ],
    ['K = 1 shows every project with runs', [row('a', 1), row('b', 0)], 1, ['a'], { projects: 0, runs: 0 }],
    ['all retracted: neither shown nor counted', [row('a', 0)], 5, [], { projects: 0, runs: 0 }],
  ] as const)('%s', (_name, rows, k, shown, other) => {
    const got = publicProjects(rows, k);
    expect(got.shown.map((r) => r.project)).toEqual(shown);
    expect(got.other).toEqual(other);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses K = %s', (k) => {
    expect(() => publicProjects([], k)).toThrow(/K must be/);
  });

  it('on a generated history: a name is shown iff at least K distinct runs used it in the period', () => {
    const run = fc.record({
      workflow: fc.integer({ min: 0, max: 60 }),
      project: fc.constantFrom('alpha', 'beta', 'gamma', 'delta', 'eps'),
      day: fc.integer({ min: 0, max: 30 }),
      points: fc.integer({ min: 0, max: 9 }),
    });
    fc.assert(
      fc.property(
        fc.array(run, { maxLength: 200 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        (history, k, a, b) => {
          const [from, to] = a <= b ? [a, b] : [b, a];
          // A workflow id is one run with one project (the first seen), as the aggregator keeps it.
          const first = new Map<number, (typeof history)[number]>();
          for (const r of history) if (!first.has(r.workflow)) first.set(r.workflow, r);
          const inPeriod = [...first.values()].filter((r) => r.day >= from && r.day <= to);
          const perProject = new Map<string, { project: string; runs: number; points: number }>();
          for (const r of inPeriod) {
            const p = perProject.get(r.project) ?? { project: r.project, runs: 0, points: 0 };
            p.runs += 1;
            p.points += r.points;
            perProject.set(r.project, p);
          }
          const distinct = (name: string) =>
            new Set(inPeriod.filter((r) => r.project === name).map((r) => r.workflow)).size;
          const { shown, other } = publicProjects([...perProject.values()], k);
          for (const p of shown) expect(distinct(p.project)).toBeGreaterThanOrEqual(k);
          for (const name of perProject.keys())
            expect(shown.some((p) => p.project === name)).toBe(distinct(name) >= k);
          // nothing is lost: shown + other = every run and every point of the period
          expect(shown.reduce((s, p) => s + p.runs, 0) + other.runs).toBe(inPeriod.length);
          expect(shown.reduce((s, p) => s + p.points, 0) + (other.points ?? 0)).toBe(
            inPeriod.reduce((s, r) => s + r.points, 0),
          );
          expect(other.projects).toBe([...perProject.values()].filter((p) => p.runs < k).length);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('SQL conditions', () => {
  it.each([
    [namedProjectSql('p_runs', 5), 'p_runs >= 5'],
    [otherProjectSql('runs', 5), 'runs != 0 AND runs < 5'],
  ])('%s', (got, want) => {
    expect(got).toBe(want);
  });
  it.each([
    () => namedProjectSql('runs; DROP', 5),
    () => otherProjectSql('runs', 0),
    () => namedProjectSql('runs', 2.5),
  ])('refuses what is not a column or a K (%#)', (f) => {
    expect(f).toThrow();
  });
});
