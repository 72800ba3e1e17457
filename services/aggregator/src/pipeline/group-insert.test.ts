import { describe, expect, it } from 'vitest';
import { GroupInsert } from './group-insert.js';

/** An insert that records what it got and finishes when told to. */
function gatedInsert() {
  const calls: number[][] = [];
  const gates: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  const insert = (rows: number[]) =>
    new Promise<void>((resolve, reject) => {
      calls.push(rows);
      gates.push({ resolve, reject });
    });
  return { calls, gates, insert };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('GroupInsert', () => {
  it('sends the first submission at once and groups what arrives while it is in flight', async () => {
    const { calls, gates, insert } = gatedInsert();
    const g = new GroupInsert(insert);
    const a = g.submit([1, 2]);
    await tick();
    const b = g.submit([3]);
    const c = g.submit([4, 5]);
    expect(calls).toEqual([[1, 2]]);
    gates[0]?.resolve();
    await a;
    await tick();
    expect(calls).toEqual([
      [1, 2],
      [3, 4, 5],
    ]);
    gates[1]?.resolve();
    await expect(Promise.all([b, c])).resolves.toEqual([undefined, undefined]);
  });

  it('rejects every submitter of a failed insert, and the next submissions still go out', async () => {
    const { calls, gates, insert } = gatedInsert();
    const g = new GroupInsert(insert);
    const a = g.submit([1]);
    await tick();
    const b = g.submit([2]);
    const c = g.submit([3]);
    gates[0]?.resolve();
    await a;
    await tick();
    gates[1]?.reject(new Error('ClickHouse down'));
    await expect(b).rejects.toThrow('ClickHouse down');
    await expect(c).rejects.toThrow('ClickHouse down');
    const d = g.submit([4]);
    await tick();
    expect(calls).toEqual([[1], [2, 3], [4]]);
    gates[2]?.resolve();
    await expect(d).resolves.toBeUndefined();
  });

  it('never runs two inserts at once', async () => {
    let inFlight = 0;
    let most = 0;
    const g = new GroupInsert<number>(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 2));
      inFlight--;
    });
    await Promise.all(Array.from({ length: 50 }, (_, i) => g.submit([i])));
    expect(most).toBe(1);
  });

  it('an empty submission resolves without an insert', async () => {
    const { calls, insert } = gatedInsert();
    await new GroupInsert(insert).submit([]);
    expect(calls).toEqual([]);
  });

  it('submissions made in the same turn share an insert', async () => {
    const { calls, gates, insert } = gatedInsert();
    const g = new GroupInsert(insert);
    const a = g.submit([1]);
    const b = g.submit([2, 3]);
    await tick();
    await tick();
    expect(calls).toEqual([[1, 2, 3]]);
    gates[0]?.resolve();
    await expect(Promise.all([a, b])).resolves.toEqual([undefined, undefined]);
  });

  it('holds a ready insert while more rows are on their way, and sends all once poked', async () => {
    const { calls, gates, insert } = gatedInsert();
    let busy = true;
    const g = new GroupInsert(insert, { holdWhile: () => busy, maxHoldMs: 60_000 });
    const a = g.submit([1]);
    await tick();
    await tick();
    expect(calls).toEqual([]);
    // A poke while still busy changes nothing.
    g.poke();
    await tick();
    expect(calls).toEqual([]);
    const b = g.submit([2]);
    busy = false;
    g.poke();
    await tick();
    expect(calls).toEqual([[1, 2]]);
    gates[0]?.resolve();
    await expect(Promise.all([a, b])).resolves.toEqual([undefined, undefined]);
  });

  it.each([0, 25])('never holds longer than maxHoldMs (%i ms) after the first rows', async (maxHoldMs) => {
    const { calls, gates, insert } = gatedInsert();
    const g = new GroupInsert(insert, { holdWhile: () => true, maxHoldMs });
    const t0 = Date.now();
    const a = g.submit([1]);
    while (calls.length === 0) await new Promise((r) => setTimeout(r, 1));
    const held = Date.now() - t0;
    expect(held).toBeGreaterThanOrEqual(maxHoldMs - 1);
    expect(held).toBeLessThan(maxHoldMs + 1_000);
    gates[0]?.resolve();
    await a;
  });
});
