/**
 * Raw-event retention, the pure part. ClickHouse 18.16 has no TTL (`MODIFY TTL` is a syntax
 * error there; TTL came in 19.6), so retention is a command: retention-cli.ts drops whole
 * monthly partitions of `events` (PARTITION BY toYYYYMM(received_at)) once every second of
 * the month is older than the retention. A row is therefore kept between N days and N days
 * plus one month (at most 31 days more). Only `events` (the raw datagrams) expire; the change
 * log and the rollups hold no raw bytes and are kept.
 */
import { z } from 'zod';

const DAY_MS = 86_400_000;

export const retentionDaysSchema = z.coerce
  .number({ invalid_type_error: '--days must be a number of days' })
  .int('--days must be a whole number of days')
  .min(1, '--days must be at least 1')
  .max(36_500, '--days must be at most 36500 (100 years)');

/** The first instant (UTC ms) after month YYYYMM, or undefined when the id is not a month. */
export function monthEndMs(partition: string): number | undefined {
  const m = /^(\d{4})(\d{2})$/.exec(partition);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (month < 1 || month > 12) return undefined;
  return Date.UTC(year, month, 1); // Date.UTC months are 0-based: this is the next month's 1st
}

/**
 * The partitions of `events` to drop: months that ended at or before now - days. Ids that are
 * not YYYYMM are never dropped (and returned as `unknown`, for the operator to look at).
 * Times are UTC, as the server's (config.d sets no other timezone).
 */
export function partitionsToDrop(
  partitions: readonly string[],
  days: number,
  nowMs: number,
): { drop: string[]; keep: string[]; unknown: string[] } {
  const cutoff = nowMs - days * DAY_MS;
  const out = { drop: [] as string[], keep: [] as string[], unknown: [] as string[] };
  for (const p of [...new Set(partitions)].sort()) {
    const end = monthEndMs(p);
    if (end === undefined) out.unknown.push(p);
    else if (end <= cutoff) out.drop.push(p);
    else out.keep.push(p);
  }
  return out;
}

/** 18.16 and 24.8+ both take a YYYYMM partition of a toYYYYMM key as a bare number. */
export function dropPartitionSql(database: string, partition: string): string {
  if (monthEndMs(partition) === undefined) throw new Error(`not a month partition: ${partition}`);
  return `ALTER TABLE ${database}.events DROP PARTITION ${partition}`;
}

export const RETENTION_USAGE = 'usage: retention-cli --days N [--dry-run]';

export const retentionArgsSchema = z.object({
  days: z.string({ required_error: '--days N is required' }).pipe(retentionDaysSchema),
  'dry-run': z.boolean().default(false),
});
