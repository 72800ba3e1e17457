/**
 * The privacy rule of everything the dashboard publishes (docs/PRIVACY.md): a project name
 * appears only when at least K distinct runs used it in the period asked about; the projects
 * under K are summed into one "other" figure, so their runs still count in every total but no
 * small project (a single user's, often) can be recognised by name. K is DASH_PUBLIC_MIN_RUNS.
 * The same rule serves the API (applied in SQL, below) and the open-data export (applied to rows).
 */

/** The label of the sum of projects under K, where a label is needed. */
export const OTHER_PROJECTS = 'other';

/** What the rows of one project carry: its name, its runs in the period, any further counts. */
export interface ProjectFigures {
  project: string;
  /** distinct runs (workflows) of the project in the period */
  runs: number;
}

/** The projects under K, summed: how many there were, and the sum of each count. */
export type OtherProjects<T> = { projects: number } & {
  [K in keyof T as T[K] extends number ? K : never]: number;
};

export interface PublicProjects<T extends ProjectFigures> {
  /** projects with at least K runs, in the order given */
  shown: T[];
  other: OtherProjects<T>;
}

function checkK(k: number): void {
  if (!Number.isSafeInteger(k) || k < 1) throw new Error(`K must be a whole number >= 1, got ${k}`);
}

/**
 * Splits per-project figures of one period by the rule. Rows must be one per project (summed
 * over the period), as the rule is about the period's runs, not a day's. Rows with no runs left
 * (all retracted) are neither shown nor counted.
 */
export function publicProjects<T extends ProjectFigures>(rows: readonly T[], k: number): PublicProjects<T> {
  checkK(k);
  const shown: T[] = [];
  const other: Record<string, number> = { projects: 0 };
  for (const r of rows) {
    if (r.runs >= k) {
      shown.push(r);
      continue;
    }
    if (r.runs === 0) continue;
    other.projects = (other.projects ?? 0) + 1;
    for (const [name, v] of Object.entries(r))
      if (typeof v === 'number') other[name] = (other[name] ?? 0) + v;
  }
  if (!('runs' in other)) other.runs = 0;
  return { shown, other: other as OtherProjects<T> };
}

const COLUMN = /^[a-z_]{1,40}$/;

/** `column >= K` etc., from a fixed column name and a checked K only. */
function condition(runsColumn: string, k: number): { col: string; k: string } {
  if (!COLUMN.test(runsColumn)) throw new Error(`not a column name: ${JSON.stringify(runsColumn)}`);
  checkK(k);
  return { col: runsColumn, k: String(k) };
}

/** SQL condition (for a HAVING over one project's period sums) of a project that may be named. */
export function namedProjectSql(runsColumn: string, k: number): string {
  const c = condition(runsColumn, k);
  return `${c.col} >= ${c.k}`;
}

/** SQL condition of a project that is counted only in "other": some runs left, fewer than K. */
export function otherProjectSql(runsColumn: string, k: number): string {
  const c = condition(runsColumn, k);
  return `${c.col} != 0 AND ${c.col} < ${c.k}`;
}
