import { describe, expect, it } from 'vitest';
import { TtlCache } from './cache.js';

describe('TtlCache', () => {
  it('serves a value until it expires', async () => {
    let t = 0;
    let calls = 0;
    const cache = new TtlCache<number>(1_000, 10, () => t);
    const compute = () => Promise.resolve(++calls);
    expect(await cache.get('a', compute)).toEqual({ value: 1, outcome: 'miss' });
    t = 999;
    expect(await cache.get('a', compute)).toEqual({ value: 1, outcome: 'hit' });
    t = 1_000;
    expect(await cache.get('a', compute)).toEqual({ value: 2, outcome: 'miss' });
  });

  it('lets concurrent requests share one computation', async () => {
    let calls = 0;
    let release: (v: number) => void = () => {};
    const cache = new TtlCache<number>(1_000, 10);
    const compute = () => {
      calls++;
      return new Promise<number>((r) => (release = r));
    };
    const all = Promise.all([cache.get('k', compute), cache.get('k', compute), cache.get('k', compute)]);
    release(7);
    const got = await all;
    expect(calls).toBe(1);
    expect(got.map((g) => g.outcome)).toEqual(['miss', 'shared', 'shared']);
    expect(got.every((g) => g.value === 7)).toBe(true);
  });

  it('keeps no failure', async () => {
    const cache = new TtlCache<number>(1_000, 10);
    await expect(cache.get('k', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.get('k', () => Promise.resolve(1))).toEqual({ value: 1, outcome: 'miss' });
  });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const cache = new TtlCache<string>(60_000, 2);
    const v = (s: string) => () => Promise.resolve(s);
    await cache.get('a', v('a'));
    await cache.get('b', v('b'));
    await cache.get('a', v('a2')); // a is now the most recent
    await cache.get('c', v('c')); // evicts b
    expect(cache.size).toBe(2);
    expect((await cache.get('a', v('a3'))).outcome).toBe('hit');
    expect((await cache.get('b', v('b2'))).outcome).toBe('miss');
  });

  it('refresh renews an entry while readers keep the old one, and shares a computation in flight', async () => {
    let t = 0;
    let release: (v: number) => void = () => {};
    const cache = new TtlCache<number>(1_000, 10, () => t);
    expect((await cache.get('k', () => Promise.resolve(1))).value).toBe(1);
    t = 900;
    let calls = 0;
    const slow = () => {
      calls++;
      return new Promise<number>((r) => (release = r));
    };
    const renewing = cache.refresh('k', slow);
    const again = cache.refresh('k', slow);
    // still the old answer, from memory, while the new one is computed
    expect(await cache.get('k', slow)).toEqual({ value: 1, outcome: 'hit' });
    release(2);
    expect([await renewing, await again]).toEqual([2, 2]);
    expect(calls).toBe(1);
    t = 1_800; // past the first entry's expiry, within the renewed one's
    expect(await cache.get('k', slow)).toEqual({ value: 2, outcome: 'hit' });
  });

  it('refresh of a key nobody asked for yet fills it; a failed refresh keeps the old entry', async () => {
    let t = 0;
    const cache = new TtlCache<number>(1_000, 10, () => t);
    expect(await cache.refresh('n', () => Promise.resolve(5))).toBe(5);
    expect(await cache.get('n', () => Promise.resolve(6))).toEqual({ value: 5, outcome: 'hit' });
    await expect(cache.refresh('n', () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    t = 10;
    expect(await cache.get('n', () => Promise.resolve(7))).toEqual({ value: 5, outcome: 'hit' });
  });
});
