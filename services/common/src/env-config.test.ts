import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { UsageError, clickhouseEnv } from './cli-frame.js';
import { ConfigError, parseEnv } from './env-config.js';
import { clickhouseConnection } from './env-fragments.js';

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  FLAG: z.enum(['true', 'false']).default('false'),
  NAME: z.string().min(1).default('x'),
});

describe('parseEnv', () => {
  it.each([
    ['defaults when unset', {}, { PORT: 8080, FLAG: 'false', NAME: 'x' }],
    ['empty strings count as unset', { PORT: '', NAME: '' }, { PORT: 8080, FLAG: 'false', NAME: 'x' }],
    ['numbers are coerced', { PORT: '9000', FLAG: 'true' }, { PORT: 9000, FLAG: 'true', NAME: 'x' }],
    ['unknown variables are ignored', { OTHER: '1' }, { PORT: 8080, FLAG: 'false', NAME: 'x' }],
  ])('%s', (_name, env, expected) => {
    expect(parseEnv('svc', schema, env)).toEqual(expected);
  });

  it('one error names every bad variable and what it got', () => {
    let caught: unknown;
    try {
      parseEnv('svc', schema, { PORT: '70000', FLAG: 'yes' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const msg = (caught as Error).message;
    expect(msg).toMatch(/^invalid svc configuration:/);
    expect(msg).toContain('PORT');
    expect(msg).toContain('"70000"');
    expect(msg).toContain('FLAG');
    expect(msg).toContain('"yes"');
  });

  it('uses the caller error class when given', () => {
    class Custom extends Error {}
    expect(() => parseEnv('svc', schema, { PORT: 'x' }, (m) => new Custom(m))).toThrow(Custom);
  });
});

describe('X_FILE variables (secrets from files)', () => {
  const withFile = z.object({
    PASSWORD: z.string().min(1).default('dev'),
    PASSWORD_FILE: z.string().optional(),
  });
  const dir = mkdtempSync(join(tmpdir(), 'env-config-'));
  const file = join(dir, 'pw');
  writeFileSync(file, 's3cret\n');

  it('reads the file into the variable, one trailing newline dropped', () => {
    expect(parseEnv('svc', withFile, { PASSWORD_FILE: file }).PASSWORD).toBe('s3cret');
  });

  it('refuses both the variable and its file', () => {
    expect(() => parseEnv('svc', withFile, { PASSWORD: 'x', PASSWORD_FILE: file })).toThrow(
      /PASSWORD_FILE: set PASSWORD or PASSWORD_FILE, not both/,
    );
  });

  it('an unreadable file is an error naming it, never the default', () => {
    expect(() => parseEnv('svc', withFile, { PASSWORD_FILE: join(dir, 'missing') })).toThrow(
      /PASSWORD_FILE: cannot read .*missing.* \(ENOENT\)/,
    );
  });

  it('never echoes a value read from a file', () => {
    writeFileSync(join(dir, 'empty'), '\n');
    let message = '';
    try {
      parseEnv('svc', withFile, { PASSWORD_FILE: join(dir, 'empty') });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/PASSWORD: .*\(got \(from file\)\)/);
  });

  it('the common ClickHouse fragment takes CLICKHOUSE_PASSWORD_FILE', () => {
    const schema = z.object(clickhouseConnection({ user: 'u', password: 'dev' }));
    expect(parseEnv('svc', schema, { CLICKHOUSE_PASSWORD_FILE: file }).CLICKHOUSE_PASSWORD).toBe('s3cret');
    expect(
      clickhouseEnv({ CLICKHOUSE_PASSWORD_FILE: file }, { user: 'u', password: 'dev' }).CLICKHOUSE_PASSWORD,
    ).toBe('s3cret');
    expect(() =>
      clickhouseEnv(
        { CLICKHOUSE_PASSWORD: 'a', CLICKHOUSE_PASSWORD_FILE: file },
        { user: 'u', password: 'dev' },
      ),
    ).toThrow(UsageError);
  });
});
