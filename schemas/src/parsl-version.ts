/**
 * Release dates from Parsl version strings, and how old an install was when it ran.
 *
 * Parsl has used date versions ("2024.10.14", in version.py zero-padded; PyPI normalises
 * to "2024.10.14" / "2024.6.3") since leaving semver ("0.9.0", "1.2.0", "1.3.0-dev").
 * Semver versions carry no date and map to null: guessing one from a changelog would
 * put invented numbers into the install-age chart.
 *
 * Suffix rule: anything after the date that starts with '+', '.', or '-' keeps the date.
 * - "+desc" is a PEP 440 local label (a git checkout of that release): same code, same date.
 * - ".post1" is a re-release of that date's code.
 * - "-dev" / ".dev0" is a build on its way to (or just after) that date's release. Parsl
 *   releases weekly, so the date is right to within about a week, which is below the
 *   resolution anyone reads an install-age chart at; dropping dev builds to null would
 *   instead hide exactly the most up-to-date users. A run that lands before its version's
 *   date is clamped to age 0 (see installAgeDays).
 */

// Year, month, day of 1-2 digits (PyPI strips the zero padding), then end or a suffix.
const DATE_VERSION = /^[vV]?(\d{4})\.(\d{1,2})\.(\d{1,2})(?:$|[+.-])/;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;
// Date versions cannot predate Parsl; a year outside this window is not a Parsl date.
const FIRST_YEAR = 2018;
const LAST_YEAR = 2099;

/** Unix ms of a UTC calendar day, or null when the day does not exist (2024.02.30). */
function utcDayMs(year: number, month: number, day: number): number | null {
  if (year < FIRST_YEAR || year > LAST_YEAR || month < 1 || month > 12 || day < 1) return null;
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  // Date.UTC rolls 2024-02-30 over to 2024-03-01: a round trip catches impossible days.
  if (back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return null;
  return ms;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** 'YYYY-MM-DD' from a date version, null for semver, garbage and impossible dates. */
export function parslReleaseDate(version: string): string | null {
  const m = DATE_VERSION.exec(version.trim());
  if (m === null) return null;
  const ms = utcDayMs(Number(m[1]), Number(m[2]), Number(m[3]));
  return ms === null ? null : isoDay(ms);
}

function parseIsoDay(day: string): number | null {
  const m = ISO_DAY.exec(day);
  if (m === null) return null;
  return utcDayMs(Number(m[1]), Number(m[2]), Number(m[3]));
}

/**
 * Whole days from the release day to the run day (both 'YYYY-MM-DD'); -1 when either is
 * unknown or unparseable.
 *
 * A run day before the release day happens with dev builds heading to that release (see
 * the suffix rule above). It is clamped to 0, not -1: the user runs code at least as new
 * as the newest release, and -1 ("unknown") would drop the freshest installs from
 * install-age averages. The run day is the relay's receive day (server clock), so client
 * clock skew does not reach this function.
 */
export function installAgeDays(runDay: string, releaseDate: string | null): number {
  if (releaseDate === null) return -1;
  const run = parseIsoDay(runDay);
  const release = parseIsoDay(releaseDate);
  if (run === null || release === null) return -1;
  return Math.max(0, Math.round((run - release) / MS_PER_DAY));
}
