import { describe, expect, it } from 'vitest';
import { encodeRows, type ColumnType } from './row-binary-writer.js';

const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'));
const u32 = (n: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b.toString('hex');
};
const one = (type: ColumnType, v: unknown): string | null =>
  hex(encodeRows([{ name: 'c', type }], [{ c: v }]));

describe('encodeRows', () => {
  it.each<[string, ColumnType, unknown, string]>([
    ['UInt8', 'UInt8', 200, 'c8'],
    ['Int8 -1 (a retraction)', 'Int8', -1, 'ff'],
    ['UInt16', 'UInt16', 0x1234, '3412'],
    ['Int32 -1 (install age unknown)', 'Int32', -1, 'ffffffff'],
    ['UInt64 from a number', 'UInt64', 2 ** 32 + 1, '0100000001000000'],
    ['UInt64 from a string past 2^53', 'UInt64', '18446744073709551615', 'ffffffffffffffff'],
    ['Float64', 'Float64', 1.5, '000000000000f83f'],
    ['Date', 'Date', '1970-01-02', '0100'],
    ['Date zero', 'Date', '1970-01-01', '0000'],
    ['DateTime', 'DateTime', '1970-01-01 00:01:01', '3d000000'],
    ['DateTime 2026', 'DateTime', '2026-12-07 17:30:00', u32(Date.UTC(2026, 11, 7, 17, 30) / 1_000)],
    ['String, UTF-8 bytes', 'String', 'é', '02c3a9'],
    ['String with a backslash and a quote, unescaped', 'String', 'a\\"', '03615c22'],
    ['Array(String)', 'Array(String)', ['a', ''], '02016100'],
    ['Enum8', { enum8: { v1: 1, legacy: 2 } }, 'legacy', '02'],
  ])('writes %s', (_n, type, v, expected) => {
    expect(one(type, v)).toBe(expected);
  });

  it('writes a string longer than 127 bytes with a two-byte length', () => {
    expect(one('String', 'x'.repeat(200))?.slice(0, 6)).toBe('c80178');
  });

  // What JSONEachRow would send differently, or ClickHouse refuse as text, is not written: the
  // sink sends those rows as JSONEachRow, so what lands and what is refused stays as it was.
  it.each<[string, ColumnType, unknown]>([
    ['a lone surrogate', 'String', 'a\ud800b'],
    ['a number for a string', 'String', 1],
    ['an integer out of range', 'UInt8', 256],
    ['a fraction for an integer', 'UInt16', 1.5],
    ['a negative UInt64', 'UInt64', -1],
    ['a UInt64 string with a sign', 'UInt64', '-1'],
    ['a UInt64 past 2^64', 'UInt64', '18446744073709551616'],
    ['NaN', 'Float64', Number.NaN],
    ['a date that does not exist', 'Date', '2025-02-30'],
    ['a date past 18.16 date tables', 'Date', '2106-01-01'],
    ['a date time past 18.16 date tables', 'DateTime', '2106-01-01 00:00:00'],
    ['a date with a time', 'Date', '2025-01-01 00:00:00'],
    ['a date time before 1970', 'DateTime', '1969-12-31 23:59:59'],
    ['a date time with a bad minute', 'DateTime', '2025-01-01 00:60:00'],
    ['an unknown enum name', { enum8: { v1: 1 } }, 'v2'],
    ['an enum name from the prototype', { enum8: { v1: 1 } }, 'toString'],
    ['a missing array', 'Array(String)', undefined],
  ])('answers null for %s', (_n, type, v) => {
    expect(one(type, v)).toBeNull();
  });

  it('writes columns in order, row after row, with the fixed values', () => {
    const cols = [
      { name: 'a', type: 'UInt8' as const },
      { name: 'at', type: 'UInt8' as const },
    ];
    expect(hex(encodeRows(cols, [{ a: 1 }, { a: 2 }], { at: 9 }))).toBe('01090209');
  });

  it('grows its buffer past the first guess', () => {
    const rows = Array.from({ length: 10 }, () => ({ s: 'y'.repeat(1_000) }));
    expect(encodeRows([{ name: 's', type: 'String' }], rows)?.length).toBe(10 * 1_002);
  });
});
