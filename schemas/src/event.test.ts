import { describe, expect, it } from 'vitest';
import { componentSchema, rejectReasons, usageEventSchema, type UsageEvent } from './event.js';

const event: UsageEvent = {
  workflowId: '5f3c1a7e-8d2b-4b6e-9d7a-0c1e2f3a4b5c',
  phase: 'launch',
  protocol: 'v1',
  trackingLevel: 3,
  parslVersion: '2026.10.06',
  pythonVersion: '3.12.2',
  pythonMinor: '3.12',
  platform: 'Linux',
  osRelease: null,
  projectName: 'climate',
  isTest: false,
  components: [
    {
      kind: 'executor',
      cls: 'parsl.executors.high_throughput.executor.HighThroughputExecutor',
      attrs: { label: 'htex', mpi: false, workers: 4, x: null },
    },
  ],
  executorsLen: 1,
  dependencyResolver: null,
  mpi: false,
  appCount: 10,
  appFails: 0,
  startTime: 1_767_225_600,
  endTime: null,
  executionTime: 12.5,
  receivedAtMs: 1_767_225_600_123,
  kafkaPartition: 3,
  kafkaOffset: '9007199254740993',
};

describe('usageEventSchema', () => {
  it('accepts a canonical event as it is', () => {
    expect(usageEventSchema.parse(event)).toEqual(event);
  });

  it('accepts every fact unknown (null)', () => {
    const unknown = {
      ...event,
      protocol: 'legacy',
      phase: 'closure',
      trackingLevel: null,
      parslVersion: null,
      pythonVersion: null,
      pythonMinor: null,
      platform: null,
      projectName: null,
      isTest: null,
      components: [],
      executorsLen: null,
      mpi: null,
      appCount: null,
      appFails: null,
      startTime: null,
      executionTime: null,
    };
    expect(usageEventSchema.safeParse(unknown).success).toBe(true);
  });

  it.each([
    ['tracking level 0', { trackingLevel: 0 }],
    ['tracking level 4', { trackingLevel: 4 }],
    ['a fractional tracking level', { trackingLevel: 1.5 }],
    ['an unknown phase', { phase: 'resume' }],
    ['an unknown protocol', { protocol: 'v2' }],
    ['a fractional app count', { appCount: 1.5 }],
    ['a fractional start time (whole seconds only)', { startTime: 1_767_225_600.5 }],
    ['a fractional receive time', { receivedAtMs: 1.5 }],
    ['an offset as a number (int64 is kept as text)', { kafkaOffset: 42 }],
    ['a missing workflow id', { workflowId: undefined }],
    ['the receive time unknown (the relay always stamps it)', { receivedAtMs: null }],
    ['an unknown component kind', { components: [{ kind: 'monitor', cls: 'x', attrs: {} }] }],
  ])('rejects %s', (_, change) => {
    expect(usageEventSchema.safeParse({ ...event, ...change }).success).toBe(false);
  });
});

describe('componentSchema', () => {
  it.each([
    ['string, number, boolean and null attributes', { a: 's', b: 1, c: true, d: null }, true],
    ['no attributes', {}, true],
    ['a nested object', { a: { b: 1 } }, false],
    ['a list', { a: [1, 2] }, false],
  ])('%s', (_, attrs, ok) => {
    expect(
      componentSchema.safeParse({ kind: 'provider', cls: 'parsl.providers.SlurmProvider', attrs }).success,
    ).toBe(ok);
  });
});

describe('rejectReasons', () => {
  it('names each reason once', () => {
    expect(new Set(rejectReasons).size).toBe(rejectReasons.length);
    expect(rejectReasons).toContain('bad_field');
  });
});
