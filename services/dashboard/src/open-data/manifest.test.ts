import { describe, expect, it } from 'vitest';
import type { IsoDay } from '../dates.js';
import { dayPaths, daysToCompute, decide, goneFiles, parseManifest, type ManifestFile } from './manifest.js';

describe('decide', () => {
  it.each([
    ['no file yet', undefined, 'a', false, 'write'],
    ['no file yet, withdrawing', undefined, 'a', true, 'write'],
    ['same bytes', 'a', 'a', false, 'keep'],
    ['same bytes, withdrawing', 'a', 'a', true, 'keep'],
    ['changed: a closed day is immutable', 'a', 'b', false, 'drift'],
    ['changed, withdrawing', 'a', 'b', true, 'replace'],
  ] as const)('%s', (_name, existing, fresh, withdrawing, want) => {
    expect(decide(existing, fresh, withdrawing)).toBe(want);
  });
});

describe('daysToCompute', () => {
  const all = new Set([...dayPaths('2026-01-01'), ...dayPaths('2026-01-02')]);
  const without = (p: string) => new Set([...all].filter((x) => x !== p));
  it.each([
    ['everything there: nothing to read', all, all, false, ['2026-01-03']],
    ['a file missing on disk', all, without('runs/2026-01-02.parquet'), false, ['2026-01-02', '2026-01-03']],
    [
      'a file missing in the manifest',
      without('project/2026-01-01.csv'),
      all,
      false,
      ['2026-01-01', '2026-01-03'],
    ],
    ['withdrawing: every day', all, all, true, ['2026-01-01', '2026-01-02', '2026-01-03']],
  ] as const)('%s', (_name, listed, onDisk, withdrawing, want) => {
    expect(daysToCompute(['2026-01-01', '2026-01-02', '2026-01-03'], listed, onDisk, withdrawing)).toEqual(
      want,
    );
  });

  it('a day has one file per rollup and format', () => {
    expect(dayPaths('2026-01-01')).toHaveLength(12);
    expect(new Set(dayPaths('2026-01-01')).size).toBe(12);
  });
});

describe('goneFiles', () => {
  const file = (day: string): ManifestFile => ({ path: `runs/${day}.csv`, day }) as ManifestFile;
  it('closed days without runs only; an open day is not touched', () => {
    const files = [file('2026-01-01'), file('2026-01-02'), file('2026-01-05')];
    expect(goneFiles(files, new Set(['2026-01-02']), '2026-01-04' as IsoDay).map((f) => f.day)).toEqual([
      '2026-01-01',
    ]);
  });
});

describe('parseManifest', () => {
  it.each(['{}', '{"format":"other","files":[],"withdrawn":[]}', '[]'])('refuses %s', (text) => {
    expect(() => parseManifest(text)).toThrow(/not a parsl-usage-open-data\/1 manifest/);
  });
});
