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
  // Batches land in the background (partition-lanes.ts): batch 2 may rewrite a state before
  // batch 1's rows land, and batch 1's landing must leave that state dirty (unevictable).
  it.each([
    ['nothing landed: every state stays', 0, ['a', 'b', 'c']],
    ['batch 1 lands: what batch 2 wrote last stays', 1, ['b', 'c']],
    ['batch 2 lands too: every state is clean', 2, []],
  ])('flushes per batch: %s', (_n, through, stillDirty) => {
    const w = new JoinWindow({ maxEntries: 0, windowMs: 1_000 });
    const one = w.beginBatch(0);
    w.put(0, state('a'), 0);
    w.put(0, state('b'), 0);
    const two = w.beginBatch(0);
    w.put(0, state('b'), 0);
    w.put(0, state('c'), 0);
    expect([one, two]).toEqual([1, 2]);
    if (through > 0) w.markFlushed(0, through);
    w.evict(0); // the cap of 0 evicts every clean entry
    const kept = ['a', 'b', 'c'].filter((id) => w.has(0, id));
    expect(kept).toEqual(stillDirty);
    expect(w.dirty).toBe(stillDirty.length);
  });

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

  // A failed batch clears its own partition only (app.ts): the others' entries, clean or dirty,
  // must come through whole, and their dirty bookkeeping with them.
  type Held = { partition: number; id: string; dirty: boolean };
  it.each<{ name: string; held: Held[]; failed: number; dropped: number }>([
    {
      name: 'clean and dirty entries in three partitions',
      held: [
        { partition: 0, id: 'a', dirty: false },
        { partition: 0, id: 'b', dirty: true },
        { partition: 1, id: 'c', dirty: false },
        { partition: 1, id: 'd', dirty: true },
        { partition: 2, id: 'e', dirty: true },
      ],
      failed: 0,
      dropped: 2,
    },
    {
      name: 'the same id in two partitions',
      held: [
        { partition: 0, id: 'x', dirty: true },
        { partition: 1, id: 'x', dirty: true },
      ],
      failed: 1,
      dropped: 1,
    },
    {
      name: 'a partition with only clean entries',
      held: [
        { partition: 3, id: 'a', dirty: false },
        { partition: 3, id: 'b', dirty: false },
        { partition: 4, id: 'c', dirty: true },
      ],
      failed: 3,
      dropped: 2,
    },
    {
      name: 'a partition that holds nothing',
      held: [
        { partition: 0, id: 'a', dirty: true },
        { partition: 1, id: 'b', dirty: false },
      ],
      failed: 7,
      dropped: 0,
    },
  ])('clearPartition: $name', ({ held, failed, dropped }) => {
    const w = new JoinWindow({ maxEntries: 100, windowMs: 1_000 });
    // Clean entries first (put, then flushed), then the dirty ones, so each partition has both.
    for (const h of held.filter((x) => !x.dirty)) w.put(h.partition, state(h.id), 0);
    for (const p of new Set(held.map((h) => h.partition))) w.markFlushed(p);
    for (const h of held.filter((x) => x.dirty)) w.put(h.partition, state(h.id), 0);
    const kept = held.filter((h) => h.partition !== failed);

    expect(w.clearPartition(failed)).toBe(dropped);
    expect(w.size).toBe(kept.length);
    expect(w.dirty).toBe(kept.filter((h) => h.dirty).length);
    for (const h of held) {
      expect(w.get(h.partition, h.id)?.workflow_id).toBe(h.partition === failed ? undefined : h.id);
    }
    // Nothing of the failed partition is left to flush or forget.
    expect(w.forgetDirty(failed)).toBe(0);

    // The freed slots are reused by the failed partition's next batch without touching the others.
    for (const h of held.filter((x) => x.partition === failed)) w.put(failed, state(`${h.id}-again`), 1);
    for (const h of kept) expect(w.get(h.partition, h.id)?.workflow_id).toBe(h.id);
    for (const p of new Set(kept.map((h) => h.partition))) w.markFlushed(p);
    expect(w.dirty).toBe(held.filter((h) => h.partition === failed).length);
    w.markFlushed(failed);
    expect(w.dirty).toBe(0);
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
