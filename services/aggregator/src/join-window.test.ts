import { describe, expect, it } from 'vitest';
import { JoinWindow } from './join-window.js';
import type { UsageEvent } from '@parsl-usage/schemas';
import { applyEvent, type WorkflowState } from './workflow-state.js';

function state(id: string): WorkflowState {
  const e = {
    workflowId: id,
    phase: 'launch',
    protocol: 'v1',
    trackingLevel: 1,
    components: [],
    receivedAtMs: 0,
    kafkaPartition: 0,
    kafkaOffset: '0',
  };
  const r = applyEvent(null, { ...nulls, ...e } as UsageEvent);
  if (!r.changed) throw new Error('unreachable');
  return r.next;
}
const nulls = Object.fromEntries(
  [
    'parslVersion',
    'pythonVersion',
    'pythonMinor',
    'platform',
    'osRelease',
    'projectName',
    'isTest',
    'executorsLen',
    'dependencyResolver',
    'mpi',
    'appCount',
    'appFails',
    'startTime',
    'endTime',
    'executionTime',
  ].map((k) => [k, null]),
);

describe('JoinWindow', () => {
  it('keeps dirty entries until they are flushed, whatever the cap', () => {
    const w = new JoinWindow({ maxEntries: 2, windowMs: 1_000 });
    for (const id of ['a', 'b', 'c', 'd']) w.put(0, state(id), 0);
    expect(w.evict(0)).toBe(0);
    expect(w.overCapacity).toBe(true);
    w.markFlushed(0);
    expect(w.evict(0)).toBe(2);
    expect([w.get(0, 'a'), w.get(0, 'b')]).toEqual([undefined, undefined]);
    expect(w.get(0, 'd')?.workflow_id).toBe('d');
  });

  it.each([
    ['inside the window', 999, 1],
    ['past the window', 1_001, 0],
  ])('evicts clean entries by age: %s', (_n, now, left) => {
    const w = new JoinWindow({ maxEntries: 10, windowMs: 1_000 });
    w.put(0, state('a'), 0);
    w.markFlushed(0);
    w.evict(now);
    expect(w.size).toBe(left);
  });

  it('marks only the flushed partition clean', () => {
    const w = new JoinWindow({ maxEntries: 10, windowMs: 1_000 });
    w.put(0, state('a'), 0);
    w.put(1, state('b'), 0);
    w.markFlushed(0);
    expect(w.dirty).toBe(1);
  });

  it('forgets the unacknowledged states of one partition, keeping its clean ones and the others', () => {
    const w = new JoinWindow({ maxEntries: 10, windowMs: 1_000 });
    w.put(0, state('clean'), 0);
    w.markFlushed(0);
    w.put(0, state('dirty'), 0);
    w.put(1, state('other'), 0);
    expect(w.forgetDirty(0)).toBe(1);
    expect([w.get(0, 'clean')?.workflow_id, w.get(0, 'dirty'), w.get(1, 'other')?.workflow_id]).toEqual([
      'clean',
      undefined,
      'other',
    ]);
    expect(w.dirty).toBe(1);
    expect(w.forgetDirty(0)).toBe(0);
  });

  it('forgets partitions it no longer owns', () => {
    const w = new JoinWindow({ maxEntries: 10, windowMs: 1_000 });
    w.put(0, state('a'), 0);
    w.put(1, state('b'), 0);
    w.dropPartitionsExcept(new Set([1]));
    expect([w.get(0, 'a'), w.get(1, 'b')?.workflow_id]).toEqual([undefined, 'b']);
    expect(w.dirty).toBe(1);
  });

  it('touching an entry makes it the most recent', () => {
    const w = new JoinWindow({ maxEntries: 1, windowMs: 10_000 });
    w.put(0, state('a'), 0);
    w.put(0, state('b'), 1);
    w.put(0, state('a'), 2);
    w.markFlushed(0);
    w.evict(3);
    expect(w.get(0, 'a')?.workflow_id).toBe('a');
    expect(w.get(0, 'b')).toBeUndefined();
  });
});
