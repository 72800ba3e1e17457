import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, parseIsoDay, type IsoDay } from './dates.js';

describe('parseIsoDay', () => {
  it.each(['2025-03-24', '1970-01-01', '2024-02-29', '2105-12-31'])('accepts %s', (s) => {
    expect(parseIsoDay(s)).toBe(s);
  });
  it.each([
    '2025-02-30',
    '2023-02-29',
    '2025-13-01',
    '2025-3-24',
    '1969-12-31',
    '2106-01-01',
    "2025-03-24' OR 1=1",
    ' 2025-03-24',
    '2025-03-24\n',
    '２０２５-03-24',
    '',
  ])('rejects %j', (s) => {
    expect(parseIsoDay(s)).toBeNull();
  });
});

describe('day arithmetic', () => {
  it('adds and measures days across month and leap boundaries', () => {
    const d = '2024-02-28' as IsoDay;
    expect(addDays(d, 1)).toBe('2024-02-29');
    expect(addDays(d, 2)).toBe('2024-03-01');
    expect(addDays(d, -59)).toBe('2023-12-31');
    expect(daysBetween(d, '2025-02-28' as IsoDay)).toBe(366);
  });
});
