import { describe, expect, it } from 'vitest';
import type { EventRow, WorkflowChangeRow } from '@parsl-usage/schemas';
import { RefusedError } from '../errors.js';
import { isolate, type IsolationDeps } from './isolation.js';
import type { BatchResult, RawMessage, Watermark } from './processor.js';
import { positionOf } from '../position.js';

/**
 * A fake sink with ClickHouse's contract for one partition: an insert lands whole or not at
 * all, refuses any row whose text holds a marker, and the watermarks are the highest positions
 * held. `process` stands in for processBatch: one change row and one event row per message
 * above the watermarks.
 */
function fakeSink(opts: { refuseChanges?: string; refuseEvents?: string; crashOnRefused?: number } = {}) {
  const changes: string[] = [];
  const events: string[] = [];
  const rejected: string[] = [];
  const log: string[] = [];
  let crashes = opts.crashOnRefused ?? 0;
  // Positions, as the sink's (position.ts); every message here is index 0.
  const mark = (held: string[]): bigint =>
    held.reduce((m, o) => (positionOf(o, 0) > m ? positionOf(o, 0) : m), -1n);
  const deps: IsolationDeps = {
    forgetUnflushed: () => log.push('forget'),
    flushed: () => log.push('flushed'),
    readWatermark: () => Promise.resolve<Watermark>({ changes: mark(changes), events: mark(events) }),
    process: (messages, wm) => {
      const rows = messages
        .filter((m) => positionOf(m.offset, 0) > wm.changes)
        .map(
          (m) => ({ kafka_offset: m.offset, project_name: String(m.value) }) as unknown as WorkflowChangeRow,
        );
      const ev = messages
        .filter((m) => positionOf(m.offset, 0) > wm.events)
        .map((m) => ({ kafka_offset: m.offset, raw: String(m.value) }) as unknown as EventRow);
      return Promise.resolve({ rows, events: ev } as BatchResult);
    },
    insertChanges: (rows) => {
      if (opts.refuseChanges && rows.some((r) => r.project_name.includes(opts.refuseChanges ?? '')))
        return Promise.reject(new RefusedError('Code: 25 refused', 25));
      changes.push(...rows.map((r) => r.kafka_offset));
      return Promise.resolve();
    },
    insertEvents: (rows) => {
      if (opts.refuseEvents && rows.some((r) => r.raw.includes(opts.refuseEvents ?? '')))
        return Promise.reject(new RefusedError('Code: 27 refused', 27));
      events.push(...rows.map((r) => r.kafka_offset));
      return Promise.resolve();
    },
    refused: (m, table) => {
      if (crashes > 0) {
        crashes--;
        return Promise.reject(new Error('SIGKILL'));
      }
      rejected.push(`${m.offset}:${table}`);
      return Promise.resolve();
    },
  };
  return { deps, changes, events, rejected, log };
}

const batch = (values: string[]): RawMessage[] =>
  values.map((v, i) => ({ offset: String(100 + i), value: Buffer.from(v), receivedAtMs: 0 }));
const offsets = (from: number, to: number, except: number[] = []): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i)).filter(
    (o) => !except.includes(Number(o)),
  );

describe('isolate', () => {
  it.each([
    ['no bad message: one chunk', ['a', 'b', 'c', 'd'], [], 1],
    ['one bad message in the middle', ['a', 'b', 'BAD', 'd', 'e', 'f', 'g', 'h'], [102], 7],
    ['the first message', ['BAD', 'b', 'c', 'd'], [100], 5],
    ['the last message', ['a', 'b', 'c', 'BAD'], [103], 5],
    ['two adjacent', ['a', 'BAD', 'BAD', 'd'], [101, 102], 7],
    ['every message', ['BAD', 'BAD', 'BAD'], [100, 101, 102], 5],
    ['a batch of one', ['BAD'], [100], 1],
  ])('%s', async (_name, values, bad, chunks) => {
    const sink = fakeSink({ refuseChanges: 'BAD' });
    const out = await isolate(sink.deps, batch(values));
    const last = 100 + values.length - 1;
    // every other message landed once, in order, in both tables
    expect(sink.changes).toEqual(offsets(100, last, bad));
    expect(sink.events).toEqual(offsets(100, last, bad));
    expect(sink.rejected).toEqual(bad.map((o) => `${o}:changes`));
    expect(out).toMatchObject({ refused: bad.length, chunks });
    const highest = Math.max(-1, ...offsets(100, last, bad).map(Number));
    expect(out.watermark.changes).toBe(highest < 0 ? -1n : positionOf(String(highest), 0));
    // states of a refused attempt are never kept as if they had landed
    expect(sink.log[0]).toBe('forget');
  });

  it('a message refused only by the events table: its change rows stay, its event does not', async () => {
    const sink = fakeSink({ refuseEvents: 'AUDIT' });
    const out = await isolate(sink.deps, batch(['a', 'AUDIT', 'c', 'd']));
    expect(sink.changes).toEqual(offsets(100, 103));
    expect(sink.events).toEqual(['100', '102', '103']);
    expect(sink.rejected).toEqual(['101:events']);
    expect(out.refused).toBe(1);
  });

  it('a crash in the middle, then the replay: every landed message exactly once', async () => {
    const values = ['a', 'b', 'BAD', 'd', 'BAD', 'f', 'g', 'h'];
    const sink = fakeSink({ refuseChanges: 'BAD', crashOnRefused: 1 });
    await expect(isolate(sink.deps, batch(values))).rejects.toThrow('SIGKILL');
    const landedBeforeCrash = [...sink.changes];
    expect(landedBeforeCrash.length).toBeGreaterThan(0);
    // The restarted consumer reads the same batch again; processBatch skips what landed.
    const out = await isolate(sink.deps, batch(values));
    expect(sink.changes).toEqual(offsets(100, 107, [102, 104]));
    expect(sink.events).toEqual(offsets(100, 107, [102, 104]));
    expect(new Set(sink.changes).size).toBe(sink.changes.length);
    expect(sink.rejected).toEqual(['102:changes', '104:changes']);
    expect(out.refused).toBe(2);
  });

  it('a failure that is not a refusal is thrown, not isolated', async () => {
    const sink = fakeSink();
    sink.deps.insertChanges = () => Promise.reject(new Error('unknown table'));
    await expect(isolate(sink.deps, batch(['a']))).rejects.toThrow('unknown table');
    expect(sink.rejected).toEqual([]);
  });
});
