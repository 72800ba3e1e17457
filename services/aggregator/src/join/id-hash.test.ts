import { describe, expect, it } from 'vitest';
import { hashableId, murmur2, murmur3 } from './id-hash.js';

// Reference values: murmur3 from the reference implementation (SMHasher, seed 0); both also
// checked against ClickHouse 18.16 and current releases in test/id-hash-clickhouse.test.ts.
describe('murmur3 (ClickHouse murmurHash3_32)', () => {
  it.each([
    ['', 0],
    ['hello', 0x248bfa47],
    ['The quick brown fox jumps over the lazy dog', 0x2e4ff723],
  ])('%j -> %i', (s, h) => {
    expect(murmur3(s)).toBe(h);
  });
});

describe('murmur2 (ClickHouse murmurHash2_32)', () => {
  it('is an unsigned 32-bit number that depends on every byte, tail included', () => {
    const seen = new Set(['', 'a', 'ab', 'abc', 'abcd', 'abcde', 'abce', 'a\\b'].map(murmur2));
    expect(seen.size).toBe(8);
    for (const h of seen) expect(h >>> 0).toBe(h);
  });
});

describe('hashableId', () => {
  it.each([
    ['bs-a\\b', true],
    ['\'"~ !', true],
    ['', true],
    ['tab\there', false],
    ['caf\u00e9', false],
    ['\ud800', false],
    ['\u007f', false],
  ])('%j -> %s', (id, ok) => {
    expect(hashableId(id)).toBe(ok);
  });
});
