import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FatalError } from '../errors.js';
import { DEFAULT_MIGRATIONS_DIR, loadMigrations } from './migrate.js';

/**
 * The I/O-free part of migrate: reading and checking the files. applyMigrations talks to
 * ClickHouse and is covered by the integration tests (test/), not here.
 */
const dirs: string[] = [];

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'migrate-test-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('loadMigrations', () => {
  it('reads the repository migrations in file-name order, every version once, each with statements', async () => {
    const names = (await readdir(DEFAULT_MIGRATIONS_DIR)).filter((f) => f.endsWith('.sql')).sort();
    const migrations = await loadMigrations(DEFAULT_MIGRATIONS_DIR, 'parsl');
    expect(migrations.map((m) => `${String(m.version).padStart(3, '0')}-${m.name}.sql`)).toEqual(names);
    const versions = migrations.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    for (const m of migrations) expect(m.statements.length).toBeGreaterThan(0);
  });

  it('puts the database name in every statement, and checksums the file as written', async () => {
    const migrations = await loadMigrations(DEFAULT_MIGRATIONS_DIR, 'parsl_test');
    const first = migrations[0];
    expect(first).toBeDefined();
    if (!first) return;
    const text = await readFile(join(DEFAULT_MIGRATIONS_DIR, `001-${first.name}.sql`), 'utf8');
    expect(first.checksum).toBe(sha256(text));
    const all = migrations.flatMap((m) => m.statements);
    expect(all.some((s) => s.includes('parsl_test.'))).toBe(true);
    expect(all.filter((s) => s.includes('${db}'))).toEqual([]);
  });

  it('gives the same checksums whatever the database', async () => {
    const sums = async (db: string) =>
      (await loadMigrations(DEFAULT_MIGRATIONS_DIR, db)).map((m) => m.checksum);
    expect(await sums('one')).toEqual(await sums('two'));
  });

  it('orders by file name, not by the order the directory lists them in, and ignores other files', async () => {
    const dir = await dirWith({
      '010-later.sql': 'SELECT 10;',
      '002-second.sql': 'CREATE TABLE IF NOT EXISTS ${db}.t (a UInt8) ENGINE = Memory;\nSELECT 2;',
      '001-first.sql': '-- why\nCREATE DATABASE IF NOT EXISTS ${db};',
      'README.md': 'not a migration',
    });
    const migrations = await loadMigrations(dir, 'db1');
    expect(migrations.map((m) => [m.version, m.name, m.statements])).toEqual([
      [1, 'first', ['CREATE DATABASE IF NOT EXISTS db1']],
      [2, 'second', ['CREATE TABLE IF NOT EXISTS db1.t (a UInt8) ENGINE = Memory', 'SELECT 2']],
      [10, 'later', ['SELECT 10']],
    ]);
  });

  it('an empty directory has no migrations', async () => {
    expect(await loadMigrations(await dirWith({}), 'db')).toEqual([]);
  });

  it.each([
    ['a file name that is not NNN-name.sql', { '1-a.sql': 'SELECT 1;' }, /is not NNN-name\.sql/],
    ['two files with one version', { '001-a.sql': 'SELECT 1;', '001-b.sql': 'SELECT 2;' }, /share version 1/],
  ])('refuses %s, as fatal', async (_name, files, message) => {
    const dir = await dirWith(files);
    const load = loadMigrations(dir, 'db');
    await expect(load).rejects.toBeInstanceOf(FatalError);
    await expect(loadMigrations(dir, 'db')).rejects.toThrow(message);
  });

  it.each(['', '1db', 'db-name', 'db; DROP TABLE x', 'a'.repeat(65)])(
    'refuses the database name %j, as fatal, before reading the files',
    async (database) => {
      const load = loadMigrations(join(tmpdir(), 'no-such-migrations-dir'), database);
      await expect(load).rejects.toBeInstanceOf(FatalError);
      await expect(loadMigrations(DEFAULT_MIGRATIONS_DIR, database)).rejects.toThrow(/is not an identifier/);
    },
  );

  it('a missing directory is not a FatalError (it is an I/O error, left to the caller)', async () => {
    const load = loadMigrations(join(tmpdir(), 'no-such-migrations-dir'), 'db');
    await expect(load).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(loadMigrations(join(tmpdir(), 'no-such-migrations-dir'), 'db')).rejects.not.toBeInstanceOf(
      FatalError,
    );
  });
});
