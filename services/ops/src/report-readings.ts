/**
 * One sentence per chart, computed from the chart's own data (never hand-written), so that a
 * reader who skips the picture still gets its point. Pure.
 */
import type { MonthFigures } from './report-history.js';
import type { AdoptionCurve, ShareSeries } from './report-series.js';
import type { ComponentCount, ProjectScore } from './report.js';

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** '2026-06' -> 'June 2026' */
export function monthName(month: string): string {
  const m = Number(month.slice(5, 7));
  return `${MONTH_NAMES[m - 1] ?? month} ${month.slice(0, 4)}`;
}

/** '2026-06' -> 'Jun 2026' */
export function shortMonth(month: string): string {
  return `${monthName(month).slice(0, 3)} ${month.slice(0, 4)}`;
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}

function pct(part: number, whole: number): string {
  return `${whole === 0 ? 0 : Math.round((100 * part) / whole)} %`;
}

export function runsReading(months: MonthFigures[]): string {
  const active = months.filter((m) => m.runs > 0);
  const first = active[0];
  const last = months[months.length - 1];
  if (!first || !last) return 'No runs were reported in these twelve months.';
  const busiest = active.reduce((a, b) => (b.runs > a.runs ? b : a));
  if (first === last)
    return `All ${int(last.runs)} runs of these twelve months were in ${monthName(last.month)}.`;
  const change = first.runs === 0 ? 0 : Math.round((100 * (last.runs - first.runs)) / first.runs);
  const verb = change > 0 ? `grew by ${change} %` : change < 0 ? `fell by ${-change} %` : 'held steady';
  return (
    `Runs ${verb} from ${int(first.runs)} in ${monthName(first.month)} to ${int(last.runs)} in ${monthName(last.month)}; ` +
    `the busiest month was ${monthName(busiest.month)} with ${int(busiest.runs)}.`
  );
}

/** Who led each month, and when the lead last changed hands ("3.12 overtook 3.11 in June 2026"). */
export function sharesReading(s: ShareSeries, what: string): string {
  const leaders: { month: string; name: string; share: number }[] = [];
  s.months.forEach((month, mi) => {
    if ((s.totals[mi] ?? 0) === 0) return;
    let best = -1;
    s.names.forEach((name, ni) => {
      const share = s.shares[ni]?.[mi] ?? 0;
      if (name !== 'other' && (best < 0 || share > (s.shares[best]?.[mi] ?? 0))) best = ni;
    });
    const name = s.names[best];
    if (name !== undefined) leaders.push({ month, name, share: s.shares[best]?.[mi] ?? 0 });
  });
  const last = leaders[leaders.length - 1];
  if (!last) return `No run reported its ${what} in these twelve months.`;
  for (let i = leaders.length - 1; i > 0; i--) {
    const [prev, cur] = [leaders[i - 1], leaders[i]];
    if (prev && cur && prev.name !== cur.name) {
      return (
        `${cur.name} overtook ${prev.name} in ${monthName(cur.month)}` +
        `${cur === last ? ` with ${cur.share} % of runs` : ` and led in ${monthName(last.month)} with ${last.share} % of runs`}.`
      );
    }
  }
  return leaders.length === 1
    ? `${last.name} led in ${monthName(last.month)} with ${last.share} % of runs.`
    : `${last.name} led in every month, with ${last.share} % of runs in ${monthName(last.month)}.`;
}

export function componentsReading(kind: string, rows: ComponentCount[], componentRuns: number): string {
  const [a, b] = rows;
  if (!a) return `No run reported ${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} in this period.`;
  const first = `${a.component} was used by ${pct(a.runs, componentRuns)} of the runs that report their configuration`;
  return b ? `${first}, ${b.component} by ${pct(b.runs, componentRuns)}.` : `${first}.`;
}

export function adoptionReading(curves: AdoptionCurve[]): string {
  if (curves.length === 0) return 'No run in the data used a Parsl release dated in this period.';
  const half = curves
    .map((c) => ({ c, p: c.points.find((p) => p.share >= 50) }))
    .filter((x) => x.p !== undefined)
    .sort((x, y) => (x.p?.days ?? 0) - (y.p?.days ?? 0))[0];
  if (half?.p) {
    const within = half.p.days === 0 ? 'within a week' : `within ${half.p.days + 7} days`;
    return `${half.c.release} was the fastest to reach half of all runs, ${within} of its release.`;
  }
  const peak = curves
    .flatMap((c) => c.points.map((p) => ({ release: c.release, ...p })))
    .reduce((a, b) => (b.share > a.share ? b : a));
  return `No release of the period reached half of all runs; ${peak.release} came closest with ${peak.share} % in week ${peak.days / 7 + 1}.`;
}

export function ageReading(median: number | null, unknownRuns: number, totalRuns: number): string {
  if (median === null) return 'No run of the period used a dated Parsl release.';
  const unknown = unknownRuns > 0 ? ` (${pct(unknownRuns, totalRuns)} of runs used an undated version)` : '';
  return `Half of the runs on a dated release used one at most ${int(median)} days old${unknown}.`;
}

export function leaderboardReading(board: ProjectScore[], totalPoints: number): string {
  const [top, second] = board;
  if (!top) return 'No run of the period named its project.';
  const lead = `${top.project} led with ${int(top.points)} points from ${int(top.runs)} runs (${pct(top.points, totalPoints)} of all points)`;
  return second ? `${lead}, ahead of ${second.project} with ${int(second.points)}.` : `${lead}.`;
}

/** For the year's trend table: the month a figure peaked in. */
export function peakReading(months: MonthFigures[], pick: (m: MonthFigures) => number): string {
  const best = months.reduce<MonthFigures | undefined>(
    (a, b) => (!a || pick(b) > pick(a) ? b : a),
    undefined,
  );
  return best && pick(best) > 0 ? `peak ${shortMonth(best.month)}: ${int(pick(best))}` : 'none';
}
