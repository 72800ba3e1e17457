import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.js';

describe('toCsv', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ['@SUM(A1)', "'@SUM(A1)"],
    [-1, '-1'],
    [null, ''],
    [true, 'true'],
  ] as const)('writes %j as %s', (value, out) => {
    expect(toCsv(['c'], [[value]])).toBe(`c\r\n${out}\r\n`);
  });
});
