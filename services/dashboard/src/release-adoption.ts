/**
 * Release adoption and release health, from runs per (day, release date). Pure: the SQL that
 * feeds it is in queries.ts. A release is identified by its date (date versions, their
 * `.post1` re-releases and local labels share one); versions without a date count as older
 * than every release, as in the release_adoption view.
 */
import { addDays, daysBetween, type IsoDay } from './dates.js';

export const NO_RELEASE_DATE = '1970-01-01';

export interface DayReleaseRuns {
  day: IsoDay;
  /** NO_RELEASE_DATE for versions that are not dates */
  releaseDate: IsoDay;
  runs: number;
}

/** Runs per day and release, indexed for "share of runs on release R or newer" look-ups. */
export class ReleaseRuns {
  private readonly byDay = new Map<string, { total: number; perRelease: Map<string, number> }>();
  /** release dates with net runs > 0 in the data, oldest first */
  readonly releases: IsoDay[];

  constructor(rows: readonly DayReleaseRuns[]) {
    const perReleaseTotal = new Map<string, number>();
    for (const r of rows) {
      let d = this.byDay.get(r.day);
      if (!d) {
        d = { total: 0, perRelease: new Map() };
        this.byDay.set(r.day, d);
      }
      d.total += r.runs;
      d.perRelease.set(r.releaseDate, (d.perRelease.get(r.releaseDate) ?? 0) + r.runs);
      perReleaseTotal.set(r.releaseDate, (perReleaseTotal.get(r.releaseDate) ?? 0) + r.runs);
    }
    this.releases = [...perReleaseTotal]
      .filter(([date, runs]) => date !== NO_RELEASE_DATE && runs > 0)
      .map(([date]) => date as IsoDay)
      .sort();
  }

  /** All runs, runs on `release` or newer, and runs on exactly `release`, over days [first, last]. */
  window(release: IsoDay, first: IsoDay, last: IsoDay): { runs: number; newer: number; own: number } {
    let runs = 0;
    let newer = 0;
    let own = 0;
    for (let d = first; d <= last; d = addDays(d, 1)) {
      const day = this.byDay.get(d);
      if (!day) continue;
      runs += day.total;
      for (const [rd, n] of day.perRelease) {
        if (rd >= release) newer += n;
        if (rd === release) own += n;
      }
    }
    return { runs, newer, own };
  }
}

export interface AdoptionPoint {
  /** first day of the bin, counted from the release day */
  daysSinceRelease: number;
  runs: number;
  newerRuns: number;
  /** newerRuns / runs; null when the bin has no runs */
  share: number | null;
}

export interface AdoptionCurve {
  release: IsoDay;
  points: AdoptionPoint[];
  /** first day since release whose share of runs on it or newer reached 0.5; null = not yet */
  daysToHalf: number | null;
}

/** Adoption curve of each release from its release day to `asOf`, in bins of `binDays` days. */
export function adoptionCurves(
  data: ReleaseRuns,
  releases: readonly IsoDay[],
  asOf: IsoDay,
  binDays: number,
): AdoptionCurve[] {
  return releases.map((release) => {
    const points: AdoptionPoint[] = [];
    const age = daysBetween(release, asOf);
    for (let start = 0; start <= age; start += binDays) {
      const w = data.window(
        release,
        addDays(release, start),
        addDays(release, Math.min(age, start + binDays - 1)),
      );
      points.push({
        daysSinceRelease: start,
        runs: w.runs,
        newerRuns: w.newer,
        share: w.runs > 0 ? w.newer / w.runs : null,
      });
    }
    let daysToHalf: number | null = null;
    for (let a = 0; a <= age && daysToHalf === null; a++) {
      const d = addDays(release, a);
      const w = data.window(release, d, d);
      if (w.runs > 0 && w.newer / w.runs >= 0.5) daysToHalf = a;
    }
    return { release, points, daysToHalf };
  });
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface ReleaseHealthOptions {
  /** the last day of data to judge (usually today or yesterday) */
  asOf: IsoDay;
  /** releases from this day on are judged; older ones only serve as the baseline */
  judgeFrom: IsoDay;
  /** how many earlier releases make the expectation (their median) */
  previous: number;
  /** days pooled for a share, ending at the age judged: single days are noisy */
  windowDays: number;
  /** below this expected share a shortfall is not significant */
  minExpectedShare: number;
  /** observed / expected below this is a collapse */
  collapseRatio: number;
  /** releases younger than this are not judged yet */
  minAgeDays: number;
  /** fewer earlier releases with data at the same age than this: no baseline */
  minBaseline: number;
}

export const DEFAULT_HEALTH: Omit<ReleaseHealthOptions, 'asOf' | 'judgeFrom'> = {
  previous: 4,
  windowDays: 7,
  minExpectedShare: 0.05,
  collapseRatio: 0.5,
  minAgeDays: 3,
  minBaseline: 2,
};

export type HealthStatus = 'ok' | 'collapsed' | 'missing' | 'too-early' | 'no-baseline';

export interface ReleaseHealth {
  /** the release date; for a release expected but never seen, the day it was due */
  release: IsoDay;
  /** false for a release inferred from the release cadence that sent no run at all */
  seen: boolean;
  ageDays: number;
  /** all runs in the window */
  windowRuns: number;
  /** runs on exactly this release in the window */
  ownRuns: number;
  /** share of the window's runs on this release or newer */
  observedShare: number | null;
  /** median share the previous releases had reached at the same age */
  expectedShare: number | null;
  baselineReleases: IsoDay[];
  status: HealthStatus;
  reason: string;
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)} %`);

/**
 * Runs per release against what earlier releases predict. For a release R of age a days, the
 * observed figure is the share of runs on R or newer over the `windowDays` days ending at a;
 * the expected figure is the median of the same share for the `previous` releases before R at
 * the same age. A release is 'missing' when no run is on it or newer although the earlier releases
 * had reached `minExpectedShare` by then, and 'collapsed' when its share is below
 * `collapseRatio` times the expectation. Releases that send nothing never appear in the data
 * (Parsl issue #4038: releases from 2025.03.24 on sent no usage data), so the releases due at
 * the usual cadence after the newest one seen are judged too, with an observed share of 0.
 */
export function releaseHealth(data: ReleaseRuns, options: ReleaseHealthOptions): ReleaseHealth[] {
  const o = options;
  const seen = data.releases.filter((r) => r <= o.asOf);
  const gaps = seen.slice(1).map((r, i) => daysBetween(seen[i] as IsoDay, r));
  const cadence = Math.max(1, Math.round(median(gaps) ?? 7));
  const newest = seen[seen.length - 1];
  const out: ReleaseHealth[] = [];
  for (const c of healthCandidates(seen, cadence, o)) {
    if (c.release < o.judgeFrom) continue;
    out.push(judgeRelease(data, seen, c, { ...o, cadence, newest }));
  }
  return out.sort((a, b) => (a.release < b.release ? 1 : a.release > b.release ? -1 : 0));
}

interface Candidate {
  release: IsoDay;
  seen: boolean;
}

/** The releases seen, and the first one overdue at the cadence after the newest seen. */
function healthCandidates(seen: readonly IsoDay[], cadence: number, o: ReleaseHealthOptions): Candidate[] {
  const candidates: Candidate[] = seen.map((release) => ({ release, seen: true }));
  const newest = seen[seen.length - 1];
  if (newest) {
    // Only the first overdue release: the later ones add no information.
    const due = addDays(newest, cadence);
    if (daysBetween(due, o.asOf) >= o.windowDays) candidates.push({ release: due, seen: false });
  }
  return candidates;
}

type JudgeOptions = ReleaseHealthOptions & { cadence: number; newest: IsoDay | undefined };

/** One release's window against the same window of up to `previous` earlier releases at its age. */
function judgeRelease(
  data: ReleaseRuns,
  seen: readonly IsoDay[],
  c: Candidate,
  o: JudgeOptions,
): ReleaseHealth {
  const age = daysBetween(c.release, o.asOf);
  const first = (r: IsoDay): IsoDay => {
    const start = addDays(r, age - o.windowDays + 1);
    return start < r ? r : start;
  };
  const w = data.window(c.release, first(c.release), o.asOf);
  const baseline: IsoDay[] = [];
  const shares: number[] = [];
  for (const p of seen.filter((r) => r < c.release).reverse()) {
    if (baseline.length >= o.previous) break;
    const pw = data.window(p, first(p), addDays(p, age));
    if (pw.runs === 0) continue;
    baseline.push(p);
    shares.push(pw.newer / pw.runs);
  }
  const base = {
    release: c.release,
    seen: c.seen,
    ageDays: age,
    windowRuns: w.runs,
    ownRuns: w.own,
    observedShare: w.runs > 0 ? w.newer / w.runs : null,
    expectedShare: median(shares),
    baselineReleases: baseline,
  };
  return { ...base, ...verdict(base, w.newer, c, o) };
}

/** The status and its reason, from the figures of judgeRelease. */
function verdict(
  f: Omit<ReleaseHealth, 'status' | 'reason'>,
  newer: number,
  c: Candidate,
  o: JudgeOptions,
): { status: HealthStatus; reason: string } {
  const { ageDays: age, baselineReleases: baseline, observedShare, expectedShare } = f;
  const expectation = `the previous ${baseline.length} releases had ${pct(expectedShare)} at day ${age}`;
  if (age < o.minAgeDays)
    return { status: 'too-early', reason: `${age} days old: judged from day ${o.minAgeDays}` };
  if (baseline.length < o.minBaseline || expectedShare === null)
    return { status: 'no-baseline', reason: `only ${baseline.length} earlier releases with data` };
  if (newer === 0 && expectedShare >= o.minExpectedShare)
    return {
      status: 'missing',
      reason: c.seen
        ? `no runs in the last ${o.windowDays} days; ${expectation}`
        : `no run from any release after ${o.newest ?? '?'} (one was due about ${c.release} at the ${o.cadence}-day cadence); ${expectation}`,
    };
  if (
    observedShare !== null &&
    expectedShare >= o.minExpectedShare &&
    observedShare < o.collapseRatio * expectedShare
  )
    return { status: 'collapsed', reason: `${pct(observedShare)} on it or newer; ${expectation}` };
  return { status: 'ok', reason: `${pct(observedShare)} on it or newer; ${expectation}` };
}
