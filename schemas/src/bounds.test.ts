import { describe, expect, it } from 'vitest';
import {
  MAX_CLOCK_AHEAD_SECONDS,
  MAX_EXECUTION_SECONDS,
  MAX_EXECUTORS,
  MAX_TASK_COUNT,
  MIN_CLIENT_SECONDS,
  checkAtMost,
  checkClientTime,
  checkExecutionTime,
  firstOutOfBounds,
  type BoundCheck,
} from './bounds.js';

const OK: BoundCheck = { kind: 'ok' };
const out = (detail: string): BoundCheck => ({ kind: 'out_of_bounds', detail });

describe('checkAtMost', () => {
  it.each([
    ['app_count', 0, MAX_TASK_COUNT, OK],
    ['app_count', MAX_TASK_COUNT, MAX_TASK_COUNT, OK],
    [
      'app_count',
      MAX_TASK_COUNT + 1,
      MAX_TASK_COUNT,
      out('app_count: 1000000001 is above the bound 1000000000'),
    ],
    // Never clamped: one datagram must not add 2^53 to a public total.
    ['t_apps', 1e300, MAX_TASK_COUNT, out('t_apps: 1e+300 is above the bound 1000000000')],
    ['executors_len', MAX_EXECUTORS, MAX_EXECUTORS, OK],
    ['sites', MAX_EXECUTORS + 1, MAX_EXECUTORS, out('sites: 1001 is above the bound 1000')],
    // Absent is unknown, not out of bounds; sign and type are the schema's to check.
    ['app_fails', null, MAX_TASK_COUNT, OK],
    ['app_fails', undefined, MAX_TASK_COUNT, OK],
    ['app_fails', -5, MAX_TASK_COUNT, OK],
  ])('%s = %s (max %i)', (field, value, max, want) => {
    expect(checkAtMost(field, value, max)).toEqual(want);
  });
});

describe('checkClientTime', () => {
  const receivedAtMs = 1_767_225_600_999; // 2026-01-01T00:00:00.999Z
  const receivedS = 1_767_225_600;
  it.each([
    ['start', MIN_CLIENT_SECONDS, OK],
    ['start', MIN_CLIENT_SECONDS - 1, out('start: 1514764799 is before 2018-01-01 (1514764800)')],
    ['end', 0, out('end: 0 is before 2018-01-01 (1514764800)')],
    ['end', receivedS, OK],
    // Client clocks run ahead: up to a day after receipt (whole seconds of the receipt) is kept.
    ['end', receivedS + MAX_CLOCK_AHEAD_SECONDS, OK],
    [
      'end',
      receivedS + MAX_CLOCK_AHEAD_SECONDS + 1,
      out('end: 1767312001 is more than 86400 s after the time of receipt'),
    ],
    ['start', null, OK],
    ['start', undefined, OK],
  ])('%s = %s', (field, seconds, want) => {
    expect(checkClientTime(field, seconds, receivedAtMs)).toEqual(want);
  });
});

describe('checkExecutionTime', () => {
  it.each([
    [0, OK],
    [12.5, OK],
    [MAX_EXECUTION_SECONDS, OK],
    // A clock stepped back gives a negative time: kept (as unknown, by the normaliser) within the bound.
    [-MAX_EXECUTION_SECONDS, OK],
    [MAX_EXECUTION_SECONDS + 0.5, out('execution_time: 315576000.5 is beyond the bound of 315576000 s')],
    [-MAX_EXECUTION_SECONDS - 1, out('execution_time: -315576001 is beyond the bound of 315576000 s')],
    [null, OK],
    [undefined, OK],
  ])('%s', (value, want) => {
    expect(checkExecutionTime(value)).toEqual(want);
  });
});

describe('firstOutOfBounds', () => {
  it.each([
    ['none', [], OK],
    ['all ok', [OK, OK], OK],
    ['the first failure, in order', [OK, out('a'), out('b')], out('a')],
    ['a failure first', [out('b'), OK], out('b')],
  ])('%s', (_, checks, want) => {
    expect(firstOutOfBounds(checks)).toEqual(want);
  });
});
