import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readHashPairs } from './row-binary.js';

function rowsBuffer(rows: Array<[number, number]>): Buffer {
  const b = Buffer.alloc(rows.length * 8);
  rows.forEach(([a, c], i) => {
    b.writeUInt32LE(a, i * 8);
    b.writeUInt32LE(c, i * 8 + 4);
  });
  return b;
}

function* chunked(b: Buffer, cuts: number[]): Generator<Buffer> {
  let at = 0;
  for (const c of [...new Set(cuts.map((x) => x % (b.length + 1)))].sort((x, y) => x - y)) {
    yield b.subarray(at, c);
    at = c;
  }
  yield b.subarray(at);
}

describe('readHashPairs', () => {
  it('reads every row whatever the chunk boundaries (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff })), { maxLength: 50 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        async (rows, cuts) => {
          const got: Array<[number, number]> = [];
          const n = await readHashPairs(chunked(rowsBuffer(rows), cuts), (a, b) => got.push([a, b]));
          expect(n).toBe(rows.length);
          expect(got).toEqual(rows);
        },
      ),
    );
  });

  it.each([
    // [bytes, what]
    [1, 'one byte of a row'],
    [7, 'a row short of its last byte'],
    [12, 'a whole row and half of the next'],
  ])('refuses a stream that ends inside a row (%i bytes: %s)', async (bytes) => {
    await expect(readHashPairs(chunked(Buffer.alloc(bytes), []), () => undefined)).rejects.toThrow(
      /ended inside a row/,
    );
  });

  it('awaits progress after each chunk', async () => {
    let calls = 0;
    await readHashPairs(
      chunked(
        rowsBuffer([
          [1, 2],
          [3, 4],
        ]),
        [5],
      ),
      () => undefined,
      () => {
        calls++;
        return Promise.resolve();
      },
    );
    expect(calls).toBe(2);
  });
});
