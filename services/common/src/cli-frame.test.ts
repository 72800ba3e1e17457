import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOCAL_DEV_USERS, UsageError, clickhouseEnv, oneLine, parseCliArgs, runCli } from './cli-frame.js';

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
    // The causes on the same line, without repeats or stacks (the backup's errors).
    [
      new Error('cannot reach Kafka', { cause: new Error('connect ECONNREFUSED\n    at x') }),
      'cannot reach Kafka: connect ECONNREFUSED',
    ],
    [new Error('same', { cause: new Error('same') }), 'same'],
    ['text', 'text'],
  ])('%s', (err, line) => {
    expect(oneLine(err)).toBe(line);
  });
});

describe('runCli', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    process.exitCode = undefined;
  });
  it.each([
    ['--help prints the help, exit 0', ['--help'], () => Promise.resolve(), 'usage: x\n', '', undefined],
    ['done', [], () => Promise.resolve(), '', '', undefined],
    [
      'a bad argument: exit 2',
      ['--nope'],
      () => Promise.resolve(),
      '',
      /^x: .*'--nope'.* \(see --help\)\n$/,
      2,
    ],
    [
      'a usage error: exit 2 and the hint',
      [],
      () => Promise.reject(new UsageError('--days must be a number')),
      '',
      'x: --days must be a number (see --help)\n',
      2,
    ],
    [
      'a usage error with the usage: printed whole',
      [],
      () => Promise.reject(new UsageError('  --dir is required\nusage: x', { withUsage: true })),
      '',
      'x:   --dir is required\nusage: x\n',
      2,
    ],
    [
      'a failure: exit 1, one line with its cause',
      [],
      () => Promise.reject(new Error('restore failed', { cause: new Error('Code: 60. no table') })),
      '',
      'x: restore failed: Code: 60. no table\n',
      1,
    ],
  ])('%s', async (_what, argv, work, stdout, stderr, code) => {
    vi.stubEnv('LOG_LEVEL', 'info'); // no stack after the line
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => (err.push(String(s)), true));
    await runCli({ name: 'x', help: 'usage: x', options: {}, run: work }, argv);
    const exit = process.exitCode;
    vi.restoreAllMocks();
    process.exitCode = undefined;
    expect(out.join('')).toBe(stdout);
    if (typeof stderr === 'string') expect(err.join('')).toBe(stderr);
    else expect(err.join('')).toMatch(stderr);
    expect(exit).toBe(code);
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
