/**
 * The stored-id filter's hashes (services/aggregator/src/join/id-hash.ts) equal ClickHouse's
 * murmurHash3_32 and murmurHash2_32 for every id the relay accepts, on the 18.16 server of the
 * test run and on current ClickHouse (chDB): a filter rebuilt from the server's hashes then
 * holds every id the aggregator hashes in memory, which is what keeps the join exact.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteString, readRows } from '@parsl-usage/common';
import { MAX_ID_CHARS } from '@parsl-usage/schemas';
import { ID_HASHES_SQL, murmur2, murmur3 } from '@parsl-usage/aggregator/internal/join/id-hash';
import { clickhouse, SETUP_CACHE } from './setup/env.js';

const VISIBLE = Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => String.fromCharCode(0x20 + i));
const ids = [
  '',
  'a\\b',
  "'",
  '\\'.repeat(MAX_ID_CHARS),
  ...fc.sample(fc.string({ unit: fc.constantFrom(...VISIBLE), minLength: 1, maxLength: MAX_ID_CHARS }), 500),
];
const expected = ids.map((id) => [murmur3(id), murmur2(id)]);
const select = (source: string) => `SELECT ${ID_HASHES_SQL.replaceAll('workflow_id', 's')} FROM ${source}`;

describe('id hashes equal ClickHouse', () => {
  const ch = clickhouse('admin');
  const dirs: string[] = [];
  afterAll(async () => {
    await ch.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('on 18.16', async () => {
    // One row per id, in order: arrayJoin over the literal keeps the array's order.
    const rows = await readRows<Record<string, number>>(
      ch,
      `${select(`(SELECT arrayJoin([${ids.map(quoteString).join(',')}]) AS s)`)}`,
    );
    expect(rows.map((r) => Object.values(r).map(Number))).toEqual(expected);
  });

  it('on current ClickHouse (chDB)', async () => {
    const python = join(SETUP_CACHE, 'chdb-venv/bin/python');
    if (!existsSync(python))
      throw new Error(`no chDB venv at ${python}: run infra/scripts/setup-host.sh first`);
    const dir = await mkdtemp(join(tmpdir(), 'id-hash-'));
    dirs.push(dir);
    const file = join(dir, 'ids.jsonl');
    await writeFile(file, ids.map((s) => JSON.stringify({ s })).join('\n') + '\n');
    const sql = `${select(`file('${file}', 'JSONEachRow', 's String')`)} FORMAT JSONCompactEachRow`;
    const { stdout } = await promisify(execFile)(
      python,
      ['-c', 'import sys, chdb; print(chdb.query(sys.argv[1]))', sql],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const got = stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => (JSON.parse(l) as unknown[]).map(Number));
    expect(got).toEqual(expected);
  });
});
