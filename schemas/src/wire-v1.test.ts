import { describe, expect, it } from 'vitest';
import {
  isWireComponentItem,
  v1ClosureSchema,
  v1LaunchSchema,
  wireComponentItemSchema,
  wireComponentSchema,
} from './wire-v1.js';

const ID = '3f1c6f52-7d1a-4c55-9a51-0d1f2b6c1a03';

describe('v1LaunchSchema', () => {
  it.each([
    [
      '2025.03.17 level 1',
      {
        correlator: ID,
        parsl_v: '2025.03.17',
        python_v: '3.12.2',
        'platform.system': 'Linux',
        tracking_level: 1,
      },
    ],
    [
      '2024.06.03 (no tracking_level)',
      { correlator: ID, parsl_v: '2024.06.03', start: 1717430400, components: [] },
    ],
    ['nulls for absent fields', { correlator: ID, parsl_v: null, project_name: null, start: null }],
    ['fractional start', { correlator: ID, start: 1717430400.5 }],
  ])('accepts %s', (_name, message) => {
    expect(v1LaunchSchema.safeParse(message).success).toBe(true);
  });

  it('keeps unknown keys for new releases', () => {
    const parsed = v1LaunchSchema.parse({ correlator: ID, parsl_v: '2099.01.01', gpu: { count: 4 } });
    expect(parsed).toEqual({ correlator: ID, parsl_v: '2099.01.01', gpu: { count: 4 } });
  });

  it.each([
    ['no correlator', { parsl_v: 'x' }, 'correlator'],
    ['tracking_level 0', { correlator: ID, tracking_level: 0 }, 'tracking_level'],
    ['tracking_level 2.5', { correlator: ID, tracking_level: 2.5 }, 'tracking_level'],
    ['tracking_level as text', { correlator: ID, tracking_level: '2' }, 'tracking_level'],
    ['python_v as a number', { correlator: ID, python_v: 3.12 }, 'python_v'],
    ['project_name as a bool', { correlator: ID, project_name: true }, 'project_name'],
    ['components as an object', { correlator: ID, components: { c: 'x' } }, 'components'],
    ['start as text', { correlator: ID, start: '1717430400' }, 'start'],
    ['start negative', { correlator: ID, start: -5 }, 'start'],
  ])('rejects %s', (_name, message, field) => {
    const parsed = v1LaunchSchema.safeParse(message);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual([field]);
  });
});

describe('v1ClosureSchema', () => {
  it.each([
    [
      '2025.03.17',
      { correlator: ID, end: 1742256042, execution_time: 42, components: [], project_name: 'p' },
    ],
    ['2024.06.03 (no execution_time)', { correlator: ID, end: 1742256042, components: [] }],
    ['negative execution_time (clock stepped back)', { correlator: ID, end: 1742256042, execution_time: -2 }],
  ])('accepts %s', (_name, message) => {
    expect(v1ClosureSchema.safeParse(message).success).toBe(true);
  });

  it.each([
    ['no end', { correlator: ID }, 'end'],
    ['end null', { correlator: ID, end: null }, 'end'],
    ['end as text', { correlator: ID, end: '1742256042' }, 'end'],
    ['execution_time as text', { correlator: ID, end: 1, execution_time: '42' }, 'execution_time'],
  ])('rejects %s', (_name, message, field) => {
    const parsed = v1ClosureSchema.safeParse(message);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual([field]);
  });
});

describe('component entries', () => {
  it.each([
    ['class name', 'parsl.providers.local.local.LocalProvider', true, true],
    ['object with c', { c: 'parsl.config.Config', executors_len: 1 }, true, true],
    ['nested list', [['parsl.x']], false, true],
    ['object without c', { executors_len: 1 }, false, false],
    ['number', 3, false, false],
    ['null', null, false, false],
  ])('%s', (_name, value, isItem, isComponent) => {
    expect(wireComponentItemSchema.safeParse(value).success).toBe(isItem);
    expect(wireComponentSchema.safeParse(value).success).toBe(isComponent);
  });
});

describe('isWireComponentItem agrees with wireComponentItemSchema on JSON values', () => {
  it.each([
    'parsl.providers.LocalProvider',
    '',
    { c: 'parsl.config.Config', executors_len: 1 },
    { c: '' },
    { c: 1 },
    { c: null },
    { C: 'x' },
    {},
    [],
    ['parsl.config.Config'],
    [{ c: 'x' }],
    null,
    1,
    0,
    true,
    false,
    { c: 'x', nested: { c: 'y' } },
    JSON.parse('{"__proto__": {"c": "x"}}') as unknown,
    JSON.parse('{"c": "x", "__proto__": null}') as unknown,
  ])('%j', (value) => {
    expect(isWireComponentItem(value)).toBe(wireComponentItemSchema.safeParse(value).success);
  });
});
