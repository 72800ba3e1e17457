import { describe, expect, it } from 'vitest';
import { checkNative, fixedWidth } from './backup-native.js';

function varUInt(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  do {
    let b = v & 0x7f;
    v = Math.floor(v / 128);
    if (v > 0) b |= 0x80;
    out.push(b);
  } while (v > 0);
  return Buffer.from(out);
}
const str = (s: string) => Buffer.concat([varUInt(Buffer.byteLength(s)), Buffer.from(s)]);
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/** One block: (id UInt16, name String, tags Array(String), n Nullable(UInt64)) with the given rows. */
function block(rows: Array<[number, string, string[], number | null]>): Buffer {
  const parts: Buffer[] = [varUInt(4), varUInt(rows.length)];
  parts.push(str('id'), str('UInt16'));
  for (const r of rows) {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(r[0]);
    parts.push(b);
  }
  parts.push(str('name'), str('String'), ...rows.map((r) => str(r[1])));
  parts.push(str('tags'), str('Array(String)'));
  let off = 0;
  for (const r of rows) parts.push(u64((off += r[2].length)));
  for (const r of rows) parts.push(...r[2].map(str));
  parts.push(str('n'), str('Nullable(UInt64)'));
  parts.push(Buffer.from(rows.map((r) => (r[3] === null ? 1 : 0))));
  for (const r of rows) parts.push(u64(r[3] ?? 0));
  return Buffer.concat(parts);
}

/** The bytes in chunks of `size`, as a stream delivers them. */
async function* chunks(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) {
    await Promise.resolve(); // a chunk arrives later, as from a socket
    yield buf.subarray(i, i + size);
  }
}

const data = Buffer.concat([
  block([
    [1, 'x', ['p', 'q'], null],
    [2, 'y'.repeat(300), [], 7],
  ]),
  block([[3, '', ['r'], 1]]),
]);

describe('checkNative', () => {
  it.each([1, 3, 7, 64, 100_000])('counts blocks and rows whatever the chunking (%i bytes)', async (size) => {
    const r = await checkNative(chunks(data, size));
    expect(r).toEqual({
      blocks: 2,
      rows: 3,
      columns: [
        { name: 'id', type: 'UInt16' },
        { name: 'name', type: 'String' },
        { name: 'tags', type: 'Array(String)' },
        { name: 'n', type: 'Nullable(UInt64)' },
      ],
    });
  });
  it('an empty stream is zero blocks', async () => {
    expect(await checkNative(chunks(Buffer.alloc(0), 1))).toEqual({ blocks: 0, rows: 0, columns: [] });
  });
  it.each([1, 5, 40, data.length - 1])('refuses a stream cut %i bytes before its end', async (cut) => {
    await expect(checkNative(chunks(data.subarray(0, data.length - cut), 16))).rejects.toThrow(/truncated/);
  });
  it('refuses blocks whose columns differ', async () => {
    const other = Buffer.concat([varUInt(1), varUInt(1), str('id'), str('UInt32'), Buffer.alloc(4)]);
    await expect(checkNative(chunks(Buffer.concat([data, other]), 8))).rejects.toThrow(/other columns/);
  });
  it('refuses a type it cannot read rather than guessing', async () => {
    const odd = Buffer.concat([
      varUInt(1),
      varUInt(1),
      str('m'),
      str('Map(String, String)'),
      Buffer.alloc(4),
    ]);
    await expect(checkNative(chunks(odd, 8))).rejects.toThrow(/not one this checker reads/);
  });
  it('refuses text that is not Native (an error message in place of data)', async () => {
    await expect(
      checkNative(chunks(Buffer.from('Code: 241, e.displayText() = DB::Exception: Memory limit'), 8)),
    ).rejects.toThrow();
  });
});

describe('fixedWidth', () => {
  it.each([
    ['UInt8', 1],
    ["Enum8('launch' = 1, 'closure' = 2)", 1],
    ['Date', 2],
    ['DateTime', 4],
    ["DateTime('UTC')", 4],
    ['Float64', 8],
    ['FixedString(16)', 16],
    ['String', undefined],
  ] as const)('%s', (type, width) => {
    expect(fixedWidth(type)).toBe(width);
  });
});
