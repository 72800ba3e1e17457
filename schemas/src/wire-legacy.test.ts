import { describe, expect, it } from 'vitest';
import { legacyClosureSchema, legacyLaunchSchema } from './wire-legacy.js';

const ID = 'a6f1e0d2-93b4-4c1e-8f57-2b0c1d9e2304';

describe('legacyLaunchSchema', () => {
  it.each([
    [
      '2018 (no version fields)',
      { uuid: ID, uname: '5e884898da', hname: '2c26b46b68', test: false, start: 1531234567.1 },
    ],
    [
      '2023.04.17',
      {
        uuid: ID,
        uname: 'a',
        hname: 'b',
        test: false,
        parsl_v: '2023.04.17',
        python_v: '3.10.12',
        os: 'Linux',
        os_v: '5.15',
        start: 1681776000.5,
      },
    ],
    [
      '2024.03.18',
      {
        uuid: ID,
        parsl_v: '2024.03.18',
        python_v: '3.12.2',
        os: 'Darwin',
        os_v: '23.3.0',
        start: 1710806400.9,
      },
    ],
  ])('accepts %s', (_name, message) => {
    expect(legacyLaunchSchema.safeParse(message).success).toBe(true);
  });

  it('keeps unknown keys', () => {
    expect(legacyLaunchSchema.parse({ uuid: ID, start: 1, extra: 'x' })).toEqual({
      uuid: ID,
      start: 1,
      extra: 'x',
    });
  });

  it.each([
    ['test as text', { uuid: ID, test: 'False' }, 'test'],
    ['os as a number', { uuid: ID, os: 1 }, 'os'],
    ['start as text', { uuid: ID, start: '1.5' }, 'start'],
    ['uuid as a number', { uuid: 7 }, 'uuid'],
  ])('rejects %s', (_name, message, field) => {
    const parsed = legacyLaunchSchema.safeParse(message);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual([field]);
  });
});

describe('legacyClosureSchema', () => {
  it.each([
    [
      '2018 and 2023 (c_time None, test)',
      { uuid: ID, end: 1681776123.75, t_apps: 25, sites: 2, c_time: null, failed: 3, test: false },
    ],
    ['2024 (no c_time, no test)', { uuid: ID, end: 1710806460.001, t_apps: 7, sites: 1, failed: 0 }],
    ['only end', { uuid: ID, end: 1 }],
  ])('accepts %s', (_name, message) => {
    expect(legacyClosureSchema.safeParse(message).success).toBe(true);
  });

  it.each([
    ['no end', { uuid: ID, t_apps: 1 }, 'end'],
    ['t_apps fractional', { uuid: ID, end: 1, t_apps: 1.5 }, 't_apps'],
    ['sites negative', { uuid: ID, end: 1, sites: -1 }, 'sites'],
    ['failed as text', { uuid: ID, end: 1, failed: '0' }, 'failed'],
  ])('rejects %s', (_name, message, field) => {
    const parsed = legacyClosureSchema.safeParse(message);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual([field]);
  });
});
