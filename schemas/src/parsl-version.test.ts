import { describe, expect, it } from 'vitest';
import { installAgeDays, parslReleaseDate } from './parsl-version.js';

describe('parslReleaseDate', () => {
  it.each([
    ['2024.10.14', '2024-10-14'],
    ['2024.06.03', '2024-06-03'],
    // PyPI-normalised form, without zero padding
    ['2024.6.3', '2024-06-03'],
    ['v2024.10.14', '2024-10-14'],
    ['V2024.10.14', '2024-10-14'],
    [' 2024.10.14 ', '2024-10-14'],
    ['2024.10.14+desc', '2024-10-14'],
    ['2024.10.14+g1a2b3c.dirty', '2024-10-14'],
    ['2024.10.14.post1', '2024-10-14'],
    ['2024.10.14-dev', '2024-10-14'],
    ['2024.10.14.dev0', '2024-10-14'],
    ['2024.02.29', '2024-02-29'],
  ])('%j -> %s', (version, expected) => {
    expect(parslReleaseDate(version)).toBe(expected);
  });

  it.each([
    ['semver dev', '1.3.0-dev'],
    ['semver', '0.9.0'],
    ['empty', ''],
    ['month 13', '2024.13.40'],
    ['day 40', '2024.10.40'],
    ['not a leap year', '2023.02.29'],
    ['day 0', '2024.10.00'],
    ['three-digit day', '2024.10.145'],
    ['five-digit year', '20241.10.14'],
    ['before Parsl', '1999.01.01'],
    ['date in the middle', 'parsl-2024.10.14'],
    ['suffix without separator', '2024.10.14dev'],
    ['garbage', 'not a version'],
  ])('%s (%j) -> null', (_name, version) => {
    expect(parslReleaseDate(version)).toBeNull();
  });
});

describe('installAgeDays', () => {
  it.each([
    ['same day', '2024-10-14', '2024-10-14', 0],
    ['one week', '2024-10-21', '2024-10-14', 7],
    ['across a leap day', '2024-03-01', '2024-02-28', 2],
    ['across a year', '2025-01-01', '2024-01-01', 366],
    ['run before release (dev build) clamps to 0', '2024-10-10', '2024-10-14', 0],
    ['unknown release', '2024-10-14', null, -1],
    ['bad run day', '2024-13-01', '2024-10-14', -1],
    ['run day not ISO', '14/10/2024', '2024-10-14', -1],
    ['bad release date', '2024-10-14', '2024-02-30', -1],
  ])('%s', (_name, runDay, releaseDate, expected) => {
    expect(installAgeDays(runDay, releaseDate)).toBe(expected);
  });

  it('composes with parslReleaseDate', () => {
    expect(installAgeDays('2025-03-24', parslReleaseDate('2025.03.17'))).toBe(7);
    expect(installAgeDays('2025-03-24', parslReleaseDate('1.3.0-dev'))).toBe(-1);
  });
});
