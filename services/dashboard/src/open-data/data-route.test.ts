import { describe, expect, it } from 'vitest';
import { dataTarget } from './data-route.js';

describe('dataTarget', () => {
  it.each([
    ['/data/manifest.json', 'file', 'application/json; charset=utf-8', false],
    ['/data/runs/2026-12-06.csv', 'file', 'text/csv; charset=utf-8', true],
    ['/data/project/2026-12-06.parquet', 'file', 'application/vnd.apache.parquet', true],
  ])('%s -> %s %s (immutable %s)', (path, kind, type, immutable) => {
    expect(dataTarget(path)).toEqual({ kind, name: path.slice('/data/'.length), type, immutable });
    expect(dataTarget(`${path}?v=1`)).toEqual(dataTarget(path));
  });

  it.each([
    ['/data/../etc/passwd', 400],
    ['/data/runs/../../etc/passwd', 400],
    ['/data/./manifest.json', 400],
    ['/data/%2e%2e/etc/passwd', 400],
    ['/data/runs/%2e%2e/manifest.json', 400],
    ['/data/runs/%2E./manifest.json', 400],
    ['http://host/data/manifest.json', 404],
    ['/data/%2E%2E%2Fetc%2Fpasswd', 400],
    ['/data/runs%2f2026-12-06.csv', 400],
    ['/data/..%5c..%5cetc', 400],
    ['/data/runs\\2026-12-06.csv', 400],
    ['/data/manifest.json%00', 400],
    ['/data/', 404],
    ['/data/runs/', 404],
    ['/data/.tmp-1-2', 404],
    ['/data/runs/.tmp-1-2', 404],
    ['/data/runs/2026-12-06.txt', 404],
    ['/data/nope/2026-12-06.csv', 404],
    ['/data/runs/2026-12-06.csv/x', 404],
    ['/data//etc/passwd', 404],
    ['/other/manifest.json', 404],
  ])('%s -> %s', (path, status) => {
    const t = dataTarget(path);
    expect(t.kind).toBe('bad');
    expect(t.kind === 'bad' && t.status).toBe(status);
  });
});
