import { describe, expect, it } from 'vitest';
import { LOCAL_DEV_USERS, UsageError, clickhouseEnv, oneLine, parseCliArgs } from './cli-frame.js';

describe('oneLine', () => {
  it.each([
    [new Error('plain'), 'plain'],
    [
      new Error(
        'Code: 194, e.displayText() = DB::Exception: Password required for user analyst, e.what() = DB::Exception',
      ),
      'Code: 194, e.displayText() = DB::Exception: Password required for user analyst',
    ],
    [new Error('first line\n    at x (y.js:1:1)\n    at z'), 'first line'],
    [new Error('\n\nafter blank lines\nmore'), 'after blank lines'],
    [
      new Error('Code: 60. DB::Exception: no table. Stack trace: 0. foo'),
      'Code: 60. DB::Exception: no table.',
    ],
    ['a string', 'a string'],
    [new TypeError(''), 'TypeError'],
  ])('%s', (err, line) => {
    expect(oneLine(err)).toBe(line);
  });
});

describe('clickhouseEnv', () => {
  it.each([
    ['admin defaults', {}, LOCAL_DEV_USERS.admin, ['admin', 'admin-dev-password', 'parsl_usage']],
    ['analyst defaults', {}, LOCAL_DEV_USERS.analyst, ['analyst', 'analyst-dev-password', 'parsl_usage']],
    [
      'overrides',
      { CLICKHOUSE_USER: 'u', CLICKHOUSE_PASSWORD: 'p', CLICKHOUSE_DATABASE: 'db2' },
      LOCAL_DEV_USERS.analyst,
      ['u', 'p', 'db2'],
    ],
    [
      'empty counts as unset',
      { CLICKHOUSE_USER: '', CLICKHOUSE_PASSWORD: '' },
      LOCAL_DEV_USERS.admin,
      ['admin', 'admin-dev-password', 'parsl_usage'],
    ],
  ])('%s', (_what, env, defaults, expected) => {
    const e = clickhouseEnv(env, defaults);
    expect([e.CLICKHOUSE_USER, e.CLICKHOUSE_PASSWORD, e.CLICKHOUSE_DATABASE]).toEqual(expected);
  });

  it('lists every bad variable in one UsageError', () => {
    const bad = () =>
      clickhouseEnv({ CLICKHOUSE_URL: 'nope', CLICKHOUSE_DATABASE: 'a;b' }, LOCAL_DEV_USERS.admin);
    expect(bad).toThrow(UsageError);
    expect(bad).toThrow('CLICKHOUSE_URL must be a URL; CLICKHOUSE_DATABASE must be an SQL identifier');
  });
});

describe('parseCliArgs', () => {
  const options = { days: { type: 'string' as const } };
  it.each([
    [['--help'], { help: true }],
    [['-h', '--days', '3'], { help: true }],
    [['--days', '3'], { help: false, values: { days: '3' } }],
  ])('%j', (argv, expected) => {
    expect(parseCliArgs(argv, options)).toEqual(expected);
  });

  it.each([[['--nope']], [['positional']], [['--days']]])('refuses %j in one line', (argv) => {
    let err: unknown;
    try {
      parseCliArgs(argv, options);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).not.toContain('\n');
  });
});
