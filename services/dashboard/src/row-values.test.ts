import { describe, expect, it } from 'vitest';
import { dayFromNumber, num, ratio, round, str } from './row-values.js';

describe('num', () => {
  it.each([
    ['18446744073', 18_446_744_073],
    [42, 42],
    ['0', 0],
    ['-1', -1],
    ['0.25', 0.25],
  ])('%j: %s', (v, expected) => {
    expect(num(v)).toBe(expected);
  });

  it.each(['many', 'NaN', Number.POSITIVE_INFINITY, {}, undefined])('refuses %j', (v) => {
    expect(() => num(v)).toThrow('ClickHouse returned a non-number');
  });
});

describe('str, dayFromNumber, ratio, round', () => {
  it.each([
    ['3.12', '3.12'],
    [312, '312'],
    [null, 'null'],
  ])('str(%j) is %j', (v, expected) => {
    expect(str(v)).toBe(expected);
  });

  it.each([
    [0, '1970-01-01'],
    ['20454', '2026-01-01'],
    [20_513, '2026-03-01'],
  ])('dayFromNumber(%j) is %s', (v, expected) => {
    expect(dayFromNumber(v)).toBe(expected);
  });

  it.each([
    [1, 4, 0.25],
    [3, 0, null],
    [0, 5, 0],
    [2, -1, null],
  ])('ratio(%s, %s) is %s', (a, b, expected) => {
    expect(ratio(a, b)).toBe(expected);
  });

  it.each([
    [1 / 3, undefined, 0.3333],
    [2 / 3, undefined, 0.6667],
    [1.23456, 3, 1.235],
    [null, undefined, null],
  ])('round(%s, %s) is %s', (x, digits, expected) => {
    expect(round(x, digits)).toBe(expected);
  });
});
