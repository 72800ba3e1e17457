import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, type IsoDay } from './dates.js';
import {
  adoptionCurves,
  DEFAULT_HEALTH,
  median,
  NO_RELEASE_DATE,
  ReleaseRuns,
  releaseHealth,
  type DayReleaseRuns,
} from './release-adoption.js';

const D0 = '2025-01-06' as IsoDay;
/** share of runs on a release or newer, `age` days after it: 1 - e^(-age/10); half at day 7 */
const adopted = (age: number): number => (age < 0 ? 0 : 1 - Math.exp(-age / 10));

/**
 * Weekly releases from D0; every day 10,000 runs spread so that each release (with newer ones)
 * follows `adopted`. Runs on releases from `silentFrom` on are dropped (they send nothing), and
 * `scale` shrinks the runs of a release and every later one from some day on.
 */
function history(opts: {
  days: number;
  silentFrom?: IsoDay;
  scale?: { release: IsoDay; fromDay: IsoDay; factor: number };
}): DayReleaseRuns[] {
  const rows: DayReleaseRuns[] = [];
  for (let i = 0; i < opts.days; i++) {
    const day = addDays(D0, i);
    const released: IsoDay[] = [];
    for (let r = D0; r <= day; r = addDays(r, 7)) released.push(r);
    const first = released[0] as IsoDay;
    rows.push({
      day,
      releaseDate: NO_RELEASE_DATE as IsoDay,
      runs: Math.round(10_000 * (1 - adopted(daysBetween(first, day)))),
    });
    released.forEach((r, k) => {
      const next = released[k + 1];
      const f = adopted(daysBetween(r, day)) - (next ? adopted(daysBetween(next, day)) : 0);
      let runs = Math.round(10_000 * f);
      if (opts.silentFrom && r >= opts.silentFrom) runs = 0;
      if (opts.scale && r >= opts.scale.release && day >= opts.scale.fromDay)
        runs = Math.round(runs * opts.scale.factor);
      if (runs !== 0) rows.push({ day, releaseDate: r, runs });
    });
  }
  return rows;
}

describe('median', () => {
  it.each([
    [[], null],
    [[3], 3],
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
  ])('median(%j) = %j', (xs, m) => {
    expect(median(xs)).toBe(m);
  });
});

describe('adoptionCurves', () => {
  it('follows the share of runs on the release or newer and finds the day it carried half', () => {
    const data = new ReleaseRuns(history({ days: 120 }));
    const release = addDays(D0, 70);
    const [curve] = adoptionCurves(data, [release], addDays(release, 30), 1);
    expect(curve?.daysToHalf).toBe(7);
    expect(curve?.points).toHaveLength(31);
    expect(curve?.points[0]?.share).toBeCloseTo(0, 3);
    expect(curve?.points[20]?.share).toBeCloseTo(adopted(20), 3);
  });

  it('pools bins of a week', () => {
    const data = new ReleaseRuns(history({ days: 120 }));
    const release = addDays(D0, 70);
    const [curve] = adoptionCurves(data, [release], addDays(release, 20), 7);
    expect(curve?.points.map((p) => p.daysSinceRelease)).toEqual([0, 7, 14]);
    // the last bin holds days 14..20 only (7 days of 10,000 runs, give or take rounding)
    expect(Math.abs((curve?.points[2]?.runs ?? 0) - 7 * 10_000)).toBeLessThanOrEqual(7 * 3);
  });
});

describe('releaseHealth', () => {
  const judge = (rows: DayReleaseRuns[], asOf: IsoDay) =>
    releaseHealth(new ReleaseRuns(rows), { ...DEFAULT_HEALTH, asOf, judgeFrom: addDays(asOf, -60) });

  it('finds nothing wrong in a steady history', () => {
    const asOf = addDays(D0, 119);
    const verdicts = judge(history({ days: 120 }), asOf);
    expect(verdicts.length).toBeGreaterThan(5);
    expect(verdicts.filter((v) => v.status === 'missing' || v.status === 'collapsed')).toEqual([]);
    const judged = verdicts.find((v) => v.ageDays === 14);
    expect(judged?.status).toBe('ok');
    expect(judged?.observedShare).toBeCloseTo(judged?.expectedShare ?? -1, 2);
  });

  it.each([7, 8, 14, 30])(
    'flags releases that send nothing (issue #4038) %i days after the first silent one',
    (after) => {
      const silentFrom = addDays(D0, 84);
      const asOf = addDays(silentFrom, after);
      const verdicts = judge(history({ days: daysBetween(D0, asOf) + 1, silentFrom }), asOf);
      const missing = verdicts.filter((v) => v.status === 'missing');
      expect(missing).toHaveLength(1);
      expect(missing[0]).toMatchObject({ release: silentFrom, seen: false, ownRuns: 0, observedShare: 0 });
      expect(missing[0]?.expectedShare).toBeGreaterThan(0.2);
      expect(missing[0]?.reason).toContain(`after ${addDays(silentFrom, -7)}`);
    },
  );

  it('does not cry wolf before a week of silence', () => {
    const silentFrom = addDays(D0, 84);
    const asOf = addDays(silentFrom, 6);
    const verdicts = judge(history({ days: daysBetween(D0, asOf) + 1, silentFrom }), asOf);
    expect(verdicts.filter((v) => v.status === 'missing')).toEqual([]);
  });

  it('flags a release whose runs collapse (and stay low in later releases)', () => {
    const release = addDays(D0, 77);
    const asOf = addDays(release, 28);
    const rows = history({
      days: daysBetween(D0, asOf) + 1,
      scale: { release, fromDay: addDays(release, 14), factor: 0.05 },
    });
    const v = judge(rows, asOf).find((x) => x.release === release);
    expect(v?.status).toBe('collapsed');
    expect(v?.observedShare).toBeLessThan(0.5 * (v?.expectedShare ?? 0));
  });

  it('leaves young releases and releases without history unjudged', () => {
    const asOf = addDays(D0, 71);
    const verdicts = judge(history({ days: 72 }), asOf);
    expect(verdicts.find((v) => v.release === addDays(D0, 70))?.status).toBe('too-early');
    const old = releaseHealth(new ReleaseRuns(history({ days: 10 })), {
      ...DEFAULT_HEALTH,
      asOf: addDays(D0, 9),
      judgeFrom: D0,
    });
    expect(old.find((v) => v.release === D0)?.status).toBe('no-baseline');
  });
});
