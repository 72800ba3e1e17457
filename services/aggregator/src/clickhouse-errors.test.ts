import { describe, expect, it } from 'vitest';
import { classifyClickHouseCode, clickHouseErrorCode, describeClickHouseCode } from './clickhouse-errors.js';

describe('clickHouseErrorCode', () => {
  it.each([
    ['the client parsed it', Object.assign(new Error('x'), { code: '25' }), 25],
    [
      "18.16's text, unparsed by the client",
      new Error(
        'Code: 25, e.displayText() = DB::Exception: Cannot parse escape sequence: missing second part of surrogate pair',
      ),
      25,
    ],
    ['a connection error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), null],
    ['not an error', 'nothing', null],
    ['null', null, null],
  ])('%s', (_name, err, code) => {
    expect(clickHouseErrorCode(err)).toBe(code);
  });
});

describe('classifyClickHouseCode', () => {
  it.each([
    [25, 'refused'], // a lone surrogate in JSONEachRow (18.16)
    [26, 'refused'],
    [27, 'refused'],
    [6, 'refused'],
    [41, 'refused'],
    [117, 'refused'],
    [241, 'transient'], // memory
    [252, 'transient'], // too many parts
    [202, 'transient'],
    [159, 'transient'],
    [201, 'transient'], // quota: wait for the next interval
    [60, 'fatal'], // unknown table
    [16, 'fatal'], // no such column
    [497, 'fatal'], // access denied
    [192, 'fatal'], // unknown user
    [null, null],
  ] as const)('%s -> %s', (code, kind) => {
    expect(classifyClickHouseCode(code)).toBe(kind);
  });

  it('names the codes it knows', () => {
    expect(describeClickHouseCode(25)).toBe('25 CANNOT_PARSE_ESCAPE_SEQUENCE');
    expect(describeClickHouseCode(60)).toBe('60');
  });
});
