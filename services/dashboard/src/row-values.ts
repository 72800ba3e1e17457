/** Reading ClickHouse's JSON rows: counts, text and day numbers, and the rounding of shares. */
import { dayOf, type IsoDay } from './dates.js';

/** One row of a JSONEachRow answer. */
export type Row = Record<string, unknown>;

/** ClickHouse sends 64-bit integers as strings in JSON; every count here fits a double exactly. */
export function num(v: unknown): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new Error(`ClickHouse returned a non-number: ${JSON.stringify(v)}`);
  return n;
}
export const str = (v: unknown): string => (typeof v === 'string' ? v : String(v));
export const dayFromNumber = (v: unknown): IsoDay => dayOf(num(v) * 86_400_000);
export const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);
export const round = (x: number | null, digits = 4): number | null =>
  x === null ? null : Math.round(x * 10 ** digits) / 10 ** digits;
