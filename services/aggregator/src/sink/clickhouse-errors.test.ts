import { describe, expect, it } from 'vitest';
import {
  classify,
  classifyClickHouseCode,
  clickHouseErrorCode,
  clickHouseErrorCodeDeep,
  describeClickHouseCode,
  isCoordinationCode,
} from './clickhouse-errors.js';

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
    [242, 'transient'], // read-only replica: no ZooKeeper session
    [225, 'transient'], // ZooKeeper session expired
    [244, 'transient'], // ZooKeeper connection lost while the part was committed
    [999, 'transient'], // a ZooKeeper operation failed
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

describe('isCoordinationCode', () => {
  it.each([
    [242, true],
    [225, true],
    [244, true],
    [999, true],
    [252, false], // too many parts: the server's own load
    [241, false],
    [209, false], // a socket timeout: the server, not its coordination
    [null, false],
  ] as const)('%s -> %s', (code, lost) => {
    expect(isCoordinationCode(code)).toBe(lost);
  });
});

describe('clickHouseErrorCodeDeep', () => {
  it.each([
    ['the error itself', Object.assign(new Error('x'), { code: '242' }), 242],
    [
      'wrapped by classify()',
      classify(Object.assign(new Error('Table is in readonly mode'), { code: '242' }), 'insert'),
      242,
    ],
    [
      'wrapped twice',
      new Error('outer', { cause: new Error('mid', { cause: new Error('Code: 999, e.displayText() = x') }) }),
      999,
    ],
    ['no code anywhere', new Error('outer', { cause: new Error('inner') }), null],
  ])('%s', (_name, err, code) => {
    expect(clickHouseErrorCodeDeep(err)).toBe(code);
  });
});
