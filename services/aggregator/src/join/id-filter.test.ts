import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { IdFilter } from './id-filter.js';
import { murmur2, murmur3 } from './id-hash.js';

const uuids = (n: number) => Array.from({ length: n }, () => randomUUID());

describe('IdFilter', () => {
  it.each([
    // [ids added, capacity]
    [1, 1_000],
    [10_000, 10_000],
    [50_000, 10_000], // 5x over capacity: less selective, still never wrong
  ])('never reports an added id absent (%i ids, capacity %i)', (n, capacity) => {
    const f = new IdFilter({ capacity });
    const ids = uuids(n);
    for (const id of ids) f.add(id);
    expect(ids.filter((id) => !f.mightContain(id))).toEqual([]);
  });

  it.each([
    // [ids added, capacity, highest false-positive share accepted]
    [10_000, 10_000, 0.02],
    [5_000, 10_000, 0.002],
  ])('keeps false positives low within capacity (%i ids, capacity %i)', (n, capacity, max) => {
    const f = new IdFilter({ capacity });
    for (const id of uuids(n)) f.add(id);
    const absent = uuids(20_000);
    const fp = absent.filter((id) => f.mightContain(id)).length / absent.length;
    expect(fp).toBeLessThan(max);
    // The estimate from the fill follows the measured rate.
    expect(f.falsePositiveRate).toBeLessThan(max);
    expect(f.fill).toBeGreaterThan(0);
  });

  it('an empty filter reports every id absent', () => {
    const f = new IdFilter({ capacity: 100 });
    expect(uuids(100).some((id) => f.mightContain(id))).toBe(false);
    expect(f.fill).toBe(0);
  });

  it('union keeps the ids of both filters', () => {
    const a = new IdFilter({ capacity: 1_000 });
    const b = new IdFilter({ capacity: 1_000 });
    const inA = uuids(300);
    const inB = uuids(300);
    inA.forEach((id) => a.add(id));
    inB.forEach((id) => b.add(id));
    const fillA = a.fill;
    a.union(b);
    expect([...inA, ...inB].every((id) => a.mightContain(id))).toBe(true);
    expect(a.fill).toBeGreaterThan(fillA);
  });

  it('refuses to union filters of different sizes', () => {
    expect(() => new IdFilter({ capacity: 10 }).union(new IdFilter({ capacity: 10_000 }))).toThrow(
      /cannot union/,
    );
  });

  it('an id added by the hashes ClickHouse streams is the id added by name', () => {
    const byName = new IdFilter({ capacity: 1_000 });
    const byHashes = new IdFilter({ capacity: 1_000 });
    const ids = [...uuids(200), 'bs-a\\b', "q'uote", '\\'.repeat(128)];
    for (const id of ids) {
      byName.add(id);
      byHashes.addHashes(murmur3(id), murmur2(id));
    }
    expect(ids.every((id) => byHashes.mightContain(id))).toBe(true);
    expect(byHashes.fill).toBe(byName.fill);
  });

  it.each(['tab\there', 'caf\u00e9', '\ud800', ''.padEnd(3, '\u0000')])(
    'an id outside printable ASCII (%j) is always maybe present, so it is always looked up',
    (id) => {
      expect(new IdFilter({ capacity: 10 }).mightContain(id)).toBe(true);
    },
  );
});
