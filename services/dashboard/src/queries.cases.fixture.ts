/**
 * Every SQL text sqlFor builds over a table of parameter combinations, named by case, for the
 * snapshot of queries.test.ts (the text must stay byte-for-byte the same through refactors).
 */
import type { IsoDay } from './dates.js';
import { DIMENSIONS, GRANULARITIES } from './params.js';
import { sqlFor, type Range } from './queries.js';

const DATABASES = ['parsl_usage', 'db_2'];
const RANGES: Range[] = [
  { from: '2026-01-01' as IsoDay, to: '2026-01-31' as IsoDay },
  { from: '2024-02-29' as IsoDay, to: '2026-12-31' as IsoDay },
];

export function sqlCases(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const db of DATABASES) {
    const sql = sqlFor(db);
    out.push([`${db} lastDay`, sql.lastDay()], [`${db} lastInserted`, sql.lastInserted()]);
    RANGES.forEach((r, ri) => {
      const at = `${db} r${ri}`;
      out.push(
        [`${at} projectCount`, sql.projectCount(r)],
        [`${at} execTime`, sql.execTime(r)],
        [`${at} installAge`, sql.installAge(r)],
        [`${at} dayRelease`, sql.dayRelease(r)],
      );
      for (const g of GRANULARITIES) {
        out.push([`${at} ${g} componentRuns`, sql.componentRuns(r, g)]);
        for (const u of [0, 7, 30]) out.push([`${at} ${g} workflows u${u}`, sql.workflows(r, g, u)]);
        for (const d of DIMENSIONS) out.push([`${at} ${g} dimension ${d}`, sql.dimension(r, g, d)]);
      }
      for (const top of [1, 8, 50]) {
        out.push([`${at} leaderboard top${top} default`, sql.leaderboard(r, top)]);
        for (const k of [1, 2, 5])
          out.push([`${at} leaderboard top${top} k${k}`, sql.leaderboard(r, top, k)]);
        out.push([`${at} leaderboardEveryDay top${top}`, sql.leaderboardEveryDay(r, top)]);
      }
      for (const k of [1, 5, 100]) out.push([`${at} projectsUnder k${k}`, sql.projectsUnder(r, k)]);
    });
  }
  return out;
}
