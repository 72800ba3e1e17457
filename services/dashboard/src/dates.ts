/**
 * Calendar days as 'YYYY-MM-DD' strings (UTC, as ClickHouse's Date). An IsoDay can only be made
 * by parseIsoDay or the arithmetic here, so a value of this type is safe to put in SQL quotes.
 */
export type IsoDay = string & { readonly __isoDay: unique symbol };

const MS_PER_DAY = 86_400_000;
const SHAPE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** ClickHouse's Date covers 1970-01-01 .. 2106-02-07; stay inside with a margin. */
const MIN_YEAR = 1970;
const MAX_YEAR = 2105;

/** The day if `s` is exactly a real calendar day in range, else null. */
export function parseIsoDay(s: string): IsoDay | null {
  const m = SHAPE.exec(s);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < MIN_YEAR || y > MAX_YEAR) return null;
  const t = Date.UTC(y, mo - 1, d);
  if (new Date(t).toISOString().slice(0, 10) !== s) return null;
  return s as IsoDay;
}

export function dayOf(ms: number): IsoDay {
  return new Date(ms).toISOString().slice(0, 10) as IsoDay;
}

export function toMs(day: IsoDay): number {
  return Date.parse(`${day}T00:00:00Z`);
}

export function addDays(day: IsoDay, n: number): IsoDay {
  return dayOf(toMs(day) + n * MS_PER_DAY);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: IsoDay, to: IsoDay): number {
  return Math.round((toMs(to) - toMs(from)) / MS_PER_DAY);
}

/** Clamp to the Date range so arithmetic near the edges stays a valid literal. */
export function clampDay(day: IsoDay): IsoDay {
  if (day < '1970-01-01') return '1970-01-01' as IsoDay;
  return day;
}
