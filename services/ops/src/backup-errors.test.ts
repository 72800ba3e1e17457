import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ClickHouseError } from '@clickhouse/client';
import { classifyFailure, isSystemFailure, type FailureCode } from './backup-errors.js';
import { ClickHouseHttpError, IdleTimeoutError } from './backup-http.js';

const withCode = (message: string, code: unknown): Error => Object.assign(new Error(message), { code });
/** The error node itself gives for a file that is not there. */
const missingFile = await readFile('/nonexistent/manifest.json').then(
  () => new Error('unreachable'),
  (err: unknown) => err as Error,
);
const BODY_1816 =
  "Code: 60, e.displayText() = DB::Exception: Table parsl_usage.events doesn't exist., e.what() = DB::Exception";

describe('classifyFailure', () => {
  it.each<[string, unknown, FailureCode]>([
    [
      'the client library parsed the server error',
      new ClickHouseError({ message: 'Table x does not exist', code: '60', type: 'UNKNOWN_TABLE' }),
      { kind: 'clickhouse', code: 60 },
    ],
    [
      'a raw request, code from the header or the 18.16 body',
      new ClickHouseHttpError('ClickHouse answered 404: ...', 404, '81'),
      { kind: 'clickhouse', code: 81 },
    ],
    [
      "a raw request answered without a code (a proxy's error page)",
      new ClickHouseHttpError('ClickHouse answered 502: Bad Gateway', 502, undefined),
      { kind: 'unknown' },
    ],
    [
      "18.16's error as the client library passes it on",
      new Error(BODY_1816),
      { kind: 'clickhouse', code: 60 },
    ],
    [
      "18.16's prefix inside our own message is not the server's body",
      new Error(`export failed: ${BODY_1816}`),
      { kind: 'unknown' },
    ],
    ['a file that is not there, as node reports it', missingFile, { kind: 'system', code: 'ENOENT' }],
    [
      'a lock file already there',
      withCode('EEXIST: file already exists', 'EEXIST'),
      { kind: 'system', code: 'EEXIST' },
    ],
    [
      'a refused connection',
      withCode('connect ECONNREFUSED', 'ECONNREFUSED'),
      { kind: 'system', code: 'ECONNREFUSED' },
    ],
    ['the raw requests idle timeout', new IdleTimeoutError(120_000), { kind: 'system', code: 'ETIMEDOUT' }],
    [
      'a stream closed early',
      withCode('Premature close', 'ERR_STREAM_PREMATURE_CLOSE'),
      { kind: 'system', code: 'ERR_STREAM_PREMATURE_CLOSE' },
    ],
    [
      'a wrapped error: its cause decides',
      new Error('cannot back up', { cause: new Error('reading', { cause: missingFile }) }),
      { kind: 'system', code: 'ENOENT' },
    ],
    [
      'the outermost code wins over its cause',
      Object.assign(new Error('reset', { cause: missingFile }), { code: 'ECONNRESET' }),
      { kind: 'system', code: 'ECONNRESET' },
    ],
    // The text is never read: these say the words but carry no code.
    [
      'our own words for a missing manifest',
      new Error('no backup in /b (manifest.json is missing)'),
      { kind: 'unknown' },
    ],
    ['a message that names a code', new Error('ENOENT: no such file or directory'), { kind: 'unknown' }],
    ['a code that is neither kind', withCode('x', 'not-a-code'), { kind: 'unknown' }],
    ['a numeric code on an error that is not from ClickHouse', withCode('x', '60'), { kind: 'unknown' }],
    ['a string thrown', 'ENOENT', { kind: 'unknown' }],
    ['null', null, { kind: 'unknown' }],
  ])('%s', (_name, err, want) => {
    expect(classifyFailure(err)).toEqual(want);
  });

  it('gives up on a cycle of causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(classifyFailure(a)).toEqual({ kind: 'unknown' });
  });

  it.each([
    [missingFile, 'ENOENT', true],
    [missingFile, 'EEXIST', false],
    [new Error('ENOENT'), 'ENOENT', false],
  ] as const)('isSystemFailure(%s, %s) is %s', (err, code, want) => {
    expect(isSystemFailure(err, code)).toBe(want);
  });
});
