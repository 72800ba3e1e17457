/**
 * The manifest of the open-data directory and the export's decisions about each file (pure).
 *
 * A closed day's files are immutable: a later export leaves them alone. The one exception is
 * an export run with a withdrawal reason (`--withdraw`, after `forget-project`): it recomputes
 * every closed day, and a file whose bytes changed is replaced, the earlier sha256 recorded
 * under `withdrawn` with the day and the reason. A day with no runs left loses its files the
 * same way. Without a reason a changed day is reported (drift), never rewritten.
 */
import type { IsoDay } from '../dates.js';
import { ROLLUP_FILES, type Column, type ColumnType } from './rollup-files.js';

export const MANIFEST_FORMAT = 'parsl-usage-open-data/1';
export const MANIFEST_NAME = 'manifest.json';
export const FORMATS = ['csv', 'parquet'] as const;
export type Format = (typeof FORMATS)[number];

export interface ManifestFile {
  /** relative to the export directory (and to /data/): <rollup>/<day>.<format> */
  path: string;
  rollup: string;
  day: string;
  format: Format;
  rows: number;
  bytes: number;
  sha256: string;
  /** K when the file was written (only the project files depend on it) */
  min_runs_per_project: number;
  columns: Array<{ name: string; type: ColumnType }>;
}

export interface Withdrawal {
  path: string;
  /** the withdrawn bytes' sha256 */
  sha256: string;
  withdrawn_on: string;
  reason: string;
  /** sha256 of the file that replaced it; null when the day has no runs left */
  replaced_by: string | null;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  generated_on: string;
  closed_through: string;
  min_runs_per_project: number;
  rollups: Array<{ name: string; description: string; period: 'day'; columns: readonly Column[] }>;
  files: ManifestFile[];
  withdrawn: Withdrawal[];
}

export function filePath(rollup: string, day: string, format: Format): string {
  return `${rollup}/${day}.${format}`;
}

/** Every file a day with runs has: one per rollup and format. */
export function dayPaths(day: string): string[] {
  return ROLLUP_FILES.flatMap((f) => FORMATS.map((fmt) => filePath(f.name, day, fmt)));
}

/**
 * The days to compute: all of them when withdrawing, else those missing a file (on disk or in
 * the manifest), so a daily run reads only the new day.
 */
export function daysToCompute(
  days: readonly string[],
  listed: ReadonlySet<string>,
  onDisk: ReadonlySet<string>,
  withdrawing: boolean,
): string[] {
  if (withdrawing) return [...days];
  return days.filter((d) => dayPaths(d).some((p) => !listed.has(p) || !onDisk.has(p)));
}

export type Decision = 'write' | 'keep' | 'replace' | 'drift';

/** What happens to one file, given the sha256 of the bytes there now (undefined: none). */
export function decide(existing: string | undefined, fresh: string, withdrawing: boolean): Decision {
  if (existing === undefined) return 'write';
  if (existing === fresh) return 'keep';
  return withdrawing ? 'replace' : 'drift';
}

/** Files of closed days that have no runs any more: withdrawn only with a reason. */
export function goneFiles(
  files: readonly ManifestFile[],
  days: ReadonlySet<string>,
  lastClosed: IsoDay,
): ManifestFile[] {
  return files.filter((f) => f.day <= lastClosed && !days.has(f.day));
}

export function emptyManifest(k: number): Manifest {
  return {
    format: MANIFEST_FORMAT,
    generated_on: '',
    closed_through: '',
    min_runs_per_project: k,
    rollups: [],
    files: [],
    withdrawn: [],
  };
}

/** A manifest read from disk, checked just enough to be extended; anything else is an error. */
export function parseManifest(text: string): Manifest {
  const m = JSON.parse(text) as Partial<Manifest>;
  if (m.format !== MANIFEST_FORMAT || !Array.isArray(m.files) || !Array.isArray(m.withdrawn))
    throw new Error(`${MANIFEST_NAME} is not a ${MANIFEST_FORMAT} manifest`);
  return m as Manifest;
}

/** The new manifest: files sorted by path, the rollups' schemas, withdrawals appended. */
export function nextManifest(o: {
  files: Iterable<ManifestFile>;
  withdrawn: readonly Withdrawal[];
  today: IsoDay;
  lastClosed: IsoDay;
  k: number;
}): Manifest {
  return {
    format: MANIFEST_FORMAT,
    generated_on: o.today,
    closed_through: o.lastClosed,
    min_runs_per_project: o.k,
    rollups: ROLLUP_FILES.map((f) => ({
      name: f.name,
      description: f.description,
      period: 'day',
      columns: f.columns,
    })),
    files: [...o.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    withdrawn: [...o.withdrawn],
  };
}
