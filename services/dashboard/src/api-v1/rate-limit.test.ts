import { describe, expect, it } from 'vitest';
import { clientKey, TokenBuckets } from './rate-limit.js';

type Step = [client: string, atMs: number, want: 'ok' | number];

describe('TokenBuckets', () => {
  it.each<[string, number, Step[]]>([
    [
      'a burst of one minute, then refused',
      3,
      [
        ['a', 0, 'ok'],
        ['a', 0, 'ok'],
        ['a', 0, 'ok'],
        ['a', 0, 20],
      ],
    ],
    // 3 per minute: one token every 20 s
    [
      'one token back after 20 s',
      3,
      [
        ['a', 0, 'ok'],
        ['a', 0, 'ok'],
        ['a', 0, 'ok'],
        ['a', 19_000, 1],
        ['a', 20_000, 'ok'],
        ['a', 20_000, 20],
      ],
    ],
    [
      'clients are separate',
      1,
      [
        ['a', 0, 'ok'],
        ['b', 0, 'ok'],
        ['a', 0, 60],
        ['b', 30_000, 30],
      ],
    ],
    [
      'a refused request takes nothing',
      60,
      [
        ...Array.from({ length: 60 }, (): Step => ['a', 0, 'ok']),
        ['a', 0, 1],
        ['a', 0, 1],
        ['a', 1_000, 'ok'],
      ],
    ],
    [
      'a quiet client never holds more than a minute',
      2,
      [
        ['a', 0, 'ok'],
        ['a', 3_600_000, 'ok'],
        ['a', 3_600_000, 'ok'],
        ['a', 3_600_000, 30],
      ],
    ],
    [
      'a clock that steps back refills nothing',
      1,
      [
        ['a', 10_000, 'ok'],
        ['a', 0, 60],
        ['a', 5_000, 60],
        ['a', 40_000, 30],
      ],
    ],
  ])('%s', (_name, perMinute, steps) => {
    const b = new TokenBuckets({ perMinute });
    for (const [i, [client, at, want]] of steps.entries()) {
      const got = b.take(client, at);
      expect([i, got.ok ? 'ok' : got.retryAfterS]).toEqual([i, want]);
    }
  });

  it('keeps at most maxClients buckets, dropping the least recently seen', () => {
    const b = new TokenBuckets({ perMinute: 1, maxClients: 3 });
    for (const c of ['a', 'b', 'c']) b.take(c, 0);
    b.take('a', 0); // a is now the most recent (and refused)
    b.take('d', 0); // b goes
    expect(b.size).toBe(3);
    expect(b.take('b', 0).ok).toBe(true); // a fresh bucket: b was forgotten
    expect(b.take('a', 0).ok).toBe(false); // c went for b; a is still known
  });

  it('refuses a rate under 1 per minute', () => {
    expect(() => new TokenBuckets({ perMinute: 0 })).toThrow();
  });
});

describe('clientKey', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff::1', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    [undefined, 'unknown'],
    ['', 'unknown'],
    ['not:an:address::x::', 'not:an:address::x::'],
  ])('%s -> %s', (address, key) => {
    expect(clientKey(address)).toBe(key);
  });
});
