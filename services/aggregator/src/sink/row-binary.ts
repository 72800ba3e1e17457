import type { Readable } from 'node:stream';

const PAIR_BYTES = 8; // two UInt32, little-endian, per RowBinary row

/**
 * Reads a RowBinary stream of (UInt32, UInt32) rows, calling `each` per row and awaiting
 * `progress` after each chunk; resolves to the row count. A row may straddle two chunks: its
 * first bytes wait in `carry` for the rest.
 */
export async function readHashPairs(
  stream: Readable | AsyncIterable<Buffer> | Iterable<Buffer>,
  each: (a: number, b: number) => void,
  progress?: () => Promise<void>,
): Promise<number> {
  let n = 0;
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buf = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const whole = buf.length - (buf.length % PAIR_BYTES);
    for (let o = 0; o < whole; o += PAIR_BYTES) {
      each(buf.readUInt32LE(o), buf.readUInt32LE(o + 4));
      n++;
    }
    carry = buf.subarray(whole);
    if (progress) await progress();
  }
  if (carry.length !== 0) throw new Error(`RowBinary stream ended inside a row (${carry.length} bytes left)`);
  return n;
}
