import { describe, expect, it } from 'vitest';
import { dropPartitionSql, monthEndMs, partitionsToDrop, retentionDaysSchema } from './retention.js';

const NOW = Date.parse('2026-11-26T18:00:00Z');

describe('monthEndMs', () => {
  it.each([
    ['202601', '2026-02-01T00:00:00.000Z'],
    ['202612', '2027-01-01T00:00:00.000Z'],
    ['202402', '2024-03-01T00:00:00.000Z'],
  ])('%s ends at %s', (p, iso) => {
    expect(new Date(monthEndMs(p) ?? 0).toISOString()).toBe(iso);
  });

  it.each(['', '2026', '202613', '202600', 'all', '2026011', 'tuple()'])('%j is not a month', (p) => {
    expect(monthEndMs(p)).toBeUndefined();
  });
});

describe('partitionsToDrop', () => {
  it.each([
    // 30 days before 2026-11-26 18:00 is 2026-10-27 18:00: October has not ended by then
    [30, ['202608', '202609'], ['202610', '202611']],
    // 57 days: cutoff 2026-09-30 18:00, September still open
    [57, ['202608'], ['202609', '202610', '202611']],
    // 56 days: cutoff 2026-10-01 18:00, September over
    [56, ['202608', '202609'], ['202610', '202611']],
    [1, ['202608', '202609', '202610'], ['202611']],
    [3650, [], ['202608', '202609', '202610', '202611']],
  ])('%i days: drops %j, keeps %j', (days, drop, keep) => {
    const r = partitionsToDrop(['202611', '202610', '202609', '202608', '202610'], days, NOW);
    expect(r.drop).toEqual(drop);
    expect(r.keep).toEqual(keep);
    expect(r.unknown).toEqual([]);
  });

  it('never drops what is not a month', () => {
    expect(partitionsToDrop(['tuple()', '197001', 'x'], 1, NOW)).toEqual({
      drop: ['197001'],
      keep: [],
      unknown: ['tuple()', 'x'],
    });
  });
});

describe('retentionDaysSchema', () => {
  it.each([
    ['30', 30],
    ['1', 1],
  ])('%s -> %i', (s, n) => {
    expect(retentionDaysSchema.parse(s)).toBe(n);
  });
  it.each(['0', '-3', '1.5', 'abc', '40000'])('%j is refused', (s) => {
    expect(retentionDaysSchema.safeParse(s).success).toBe(false);
  });
});

describe('dropPartitionSql', () => {
  it('names the month', () => {
    expect(dropPartitionSql('parsl_usage', '202601')).toBe(
      'ALTER TABLE parsl_usage.events DROP PARTITION 202601',
    );
  });
  it('refuses anything else', () => {
    expect(() => dropPartitionSql('parsl_usage', '1; DROP TABLE x')).toThrow(/not a month/);
  });
});
