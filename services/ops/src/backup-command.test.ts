import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '@parsl-usage/common/cli-frame';
import { parseCommand } from './backup-command.js';
import { backupArgsSchema } from './backup-cli.js';
import { restoreArgsSchema } from './restore-cli.js';

describe('parseCommand', () => {
  it('defaults: the admin user, the local password, the aggregator group and topic', () => {
    const { args, env } = parseCommand(backupArgsSchema, { dir: '/b' }, {}, 'usage');
    expect(args).toEqual({ dir: '/b', verify: false });
    expect(env).toMatchObject({
      CLICKHOUSE_USER: 'admin',
      CLICKHOUSE_PASSWORD: 'admin-dev-password',
      CLICKHOUSE_DATABASE: 'parsl_usage',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      AGG_GROUP_ID: 'parsl-usage-aggregator',
      AGG_RAW_TOPIC: 'parsl.usage.raw',
      CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS: 120_000,
    });
  });
  it.each([
    ['5000', 5_000],
    ['999', /at least 1000/],
    ['1500.5', /integer/i],
    ['soon', /number/i],
  ])('CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS=%s', (value, want) => {
    const parse = () =>
      parseCommand(backupArgsSchema, { dir: 'd' }, { CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS: value }, 'u');
    if (typeof want === 'number') expect(parse().env.CLICKHOUSE_HTTP_IDLE_TIMEOUT_MS).toBe(want);
    else expect(parse).toThrow(want);
  });
  const secret = join(mkdtempSync(join(tmpdir(), 'backup-secret-')), 'password');
  writeFileSync(secret, 's3cret\n');
  it.each([
    // [environment, password read, or the error]
    [{ CLICKHOUSE_PASSWORD_FILE: secret }, 's3cret'],
    [{ CLICKHOUSE_PASSWORD_FILE: secret, CLICKHOUSE_PASSWORD: 'x' }, /not both/],
    [{ CLICKHOUSE_PASSWORD_FILE: join(secret, 'missing') }, /cannot read .*ENOTDIR|cannot read .*ENOENT/],
  ])('CLICKHOUSE_PASSWORD_FILE: %j', (env: Record<string, string>, want) => {
    const parse = () => parseCommand(backupArgsSchema, { dir: 'd' }, env, 'u');
    if (typeof want === 'string') expect(parse().env.CLICKHOUSE_PASSWORD).toBe(want);
    else expect(parse).toThrow(want);
  });

  it('lists every problem of arguments and environment in one message, then the usage', () => {
    expect(() =>
      parseCommand(
        restoreArgsSchema,
        {},
        { CLICKHOUSE_URL: 'nope', CLICKHOUSE_DATABASE: 'a-b', KAFKA_BROKERS: 'x' },
        'USAGE',
      ),
    ).toThrow(
      /--dir DIR is required\n {2}CLICKHOUSE_URL: CLICKHOUSE_URL must be a URL\n {2}CLICKHOUSE_DATABASE: .*\n {2}KAFKA_BROKERS: .*\nUSAGE$/,
    );
  });
  it('says it is a usage error (exit 2) that carries the usage text', () => {
    let err: unknown;
    try {
      parseCommand(backupArgsSchema, {}, {}, 'USAGE');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).withUsage).toBe(true);
  });
  it('empty variables count as unset', () => {
    expect(
      parseCommand(backupArgsSchema, { dir: 'd' }, { CLICKHOUSE_PASSWORD: '' }, 'u').env.CLICKHOUSE_PASSWORD,
    ).toBe('admin-dev-password');
  });
});
