import { describe, expect, it } from 'vitest';
import { KeyIndex } from './key-index.js';

/** Deterministic pseudo-random numbers (LCG), so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    return s / 2 ** 32;
  };
}

const uuid = (i: number): string =>
  `${i.toString(16).padStart(8, '0')}-4b1c-4d2e-9f3a-${(i * 7919).toString(16).padStart(12, '0')}`;

/** The index's order from oldest to newest, as slots. */
function order(index: KeyIndex): number[] {
  const out: number[] = [];
  for (let s = index.oldest(); s !== undefined; s = index.newer(s)) out.push(s);
  return out;
}

describe('KeyIndex', () => {
  it.each([
    ['canonical uuid', 'c0ffee00-1234-4abc-8def-0123456789ab'],
    ['uppercase uuid (kept as text, not folded)', 'C0FFEE00-1234-4ABC-8DEF-0123456789AB'],
    ['legacy-style id', 'not-a-uuid'],
    ['uuid without dashes', 'c0ffee0012344abc8def0123456789ab'],
    ['uuid with a non-hex digit', 'c0ffee00-1234-4abc-8def-0123456789ag'],
    ['36 chars, dashes elsewhere', 'c0ffee001-234-4abc-8def-0123456789ab'],
  ])('%s: found under its own partition only', (_name, id) => {
    const index = new KeyIndex();
    index.add(3, id, 7);
    expect(index.get(3, id)).toBe(7);
    expect(index.get(4, id)).toBeUndefined();
    expect(index.size).toBe(1);
    expect(index.partitionOf(7)).toBe(3);
    index.remove(7);
    expect(index.get(3, id)).toBeUndefined();
    expect(index.size).toBe(0);
  });

  it('tells a lowercase uuid from the same uuid in uppercase', () => {
    const index = new KeyIndex();
    const id = 'c0ffee00-1234-4abc-8def-0123456789ab';
    index.add(0, id, 0);
    index.add(0, id.toUpperCase(), 1);
    expect(index.get(0, id)).toBe(0);
    expect(index.get(0, id.toUpperCase())).toBe(1);
  });

  it('keeps least recently used order through touch and remove', () => {
    const index = new KeyIndex();
    for (let s = 0; s < 5; s++) index.add(0, uuid(s), s);
    index.touch(1);
    index.remove(3);
    index.touch(0);
    expect(order(index)).toEqual([2, 4, 1, 0]);
  });

  it('agrees with a Map model over 200,000 random operations (adds, touches, removes, growth)', () => {
    const r = rng(1234);
    const index = new KeyIndex();
    // model: key -> slot, in LRU order (Map insertion order, re-inserted on touch)
    const model = new Map<string, number>();
    const keyOf = new Map<number, string>();
    const free: number[] = [];
    let nextSlot = 0;
    const split = (k: string): [number, string] => {
      const i = k.indexOf('|');
      return [Number(k.slice(0, i)), k.slice(i + 1)];
    };
    for (let op = 0; op < 200_000; op++) {
      const x = r();
      const id = r() < 0.9 ? uuid(Math.floor(r() * 20_000)) : `legacy-${Math.floor(r() * 2_000)}`;
      const key = `${Math.floor(r() * 6)}|${id}`;
      const [p, wid] = split(key);
      if (x < 0.5) {
        if (model.has(key)) continue;
        const slot = free.pop() ?? nextSlot++;
        index.add(p, wid, slot);
        model.set(key, slot);
        keyOf.set(slot, key);
      } else if (x < 0.7) {
        const slot = model.get(key);
        if (slot === undefined) continue;
        index.touch(slot);
        model.delete(key);
        model.set(key, slot);
      } else {
        // remove the oldest (as eviction does) or a random present key
        const victim = x < 0.85 ? model.keys().next().value : model.has(key) ? key : undefined;
        if (victim === undefined) continue;
        const slot = model.get(victim) as number;
        index.remove(slot);
        model.delete(victim);
        keyOf.delete(slot);
        free.push(slot);
      }
      expect(index.get(p, wid)).toBe(model.get(key));
    }
    expect(index.size).toBe(model.size);
    expect(order(index)).toEqual([...model.values()]);
    for (const [key, slot] of model) {
      const [p, wid] = split(key);
      expect(index.get(p, wid)).toBe(slot);
      expect(index.partitionOf(slot)).toBe(p);
    }
    expect(index.size).toBeGreaterThan(1_000);
  }, 60_000); // ms: a CPU-bound model check; on a loaded 2-core CI machine it neared the 5 s default

  it('clear forgets everything and slots can be reused', () => {
    const index = new KeyIndex();
    for (let s = 0; s < 3_000; s++) index.add(s % 6, uuid(s), s);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.oldest()).toBeUndefined();
    expect(index.get(0, uuid(0))).toBeUndefined();
    index.add(1, uuid(0), 0);
    expect(index.get(1, uuid(0))).toBe(0);
    expect(order(index)).toEqual([0]);
  });

  it('refuses to remove a slot that holds no key', () => {
    const index = new KeyIndex();
    index.add(0, uuid(1), 0);
    index.remove(0);
    expect(() => index.remove(0)).toThrow(/holds no key/);
  });
});
