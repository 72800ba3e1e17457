import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Metrics } from '@parsl-usage/common';
import type { EventRow, WorkflowChangeRow } from '@parsl-usage/schemas';
import { BatchWriter } from './batch-writer.js';
import { TransientError } from '../errors.js';
import type { BatchContext, Watermark, WorkflowSink } from '../ports.js';
import type { BatchResult } from './processor.js';
import { positionOf } from '../position.js';

/**
 * The batch writer against a fake sink that keeps ClickHouse's contract for the writer: an
 * insert lands whole or not at all (or lands and then reports a failure, as a timed-out
 * request can), and the watermarks are the highest positions held (position.ts; these rows are
 * all index 0).
 */
function fakeSink(
  script: { changes?: ('fail' | 'land-then-fail')[]; events?: ('fail' | 'land-then-fail')[] } = {},
) {
  const inserted = { changes: [] as string[][], events: [] as string[][] };
  const attempts = { changes: 0, events: 0 };
  const held = (table: 'changes' | 'events'): bigint =>
    inserted[table].flat().reduce((m, o) => (positionOf(o, 0) > m ? positionOf(o, 0) : m), -1n);
  const insert = (table: 'changes' | 'events', offsets: string[]): Promise<void> => {
    const step = (script[table] ?? [])[attempts[table]];
    attempts[table] += 1;
    if (step === 'fail') return Promise.reject(new TransientError('ECONNRESET'));
    inserted[table].push(offsets);
    if (step === 'land-then-fail') return Promise.reject(new TransientError('socket hang up'));
    return Promise.resolve();
  };
  const sink: WorkflowSink = {
    insertChanges: (rows) =>
      insert(
        'changes',
        rows.map((r) => r.kafka_offset),
      ),
    insertEvents: (rows) =>
      insert(
        'events',
        rows.map((r) => r.kafka_offset),
      ),
    lookup: () => Promise.resolve(new Map()),
    watermarks: () => Promise.resolve(new Map([[0, { changes: held('changes'), events: held('events') }]])),
    forEachStoredHash: () => Promise.resolve(0),
    ping: () => Promise.resolve(true),
    unconfirmedParts: () => Promise.resolve({ at: '', parts: 0 }),
    storedChanges: (r) =>
      Promise.resolve(
        new Set(
          inserted.changes
            .flat()
            .filter((o) => BigInt(o) >= r.from && BigInt(o) <= r.to)
            .map((o) => `${o}:0`),
        ),
      ),
    views: () => Promise.resolve({ port: cleanViews, targets: [] }),
  };
  return { sink, inserted, attempts };
}

/** Views with nothing to repair: what a fake that lands inserts whole holds. */
const cleanViews = {
  diff: () => Promise.resolve([]),
  insertDiff: () => Promise.resolve(),
  repairVersions: () => Promise.resolve(0),
  replicationBacklog: () => Promise.resolve(false),
};

const ctx = (partition = 0): BatchContext & { commits: string[] } => {
  const commits: string[] = [];
  return {
    partition,
    commits,
    heartbeat: () => Promise.resolve(),
    isActive: () => true,
    commit: (o) => {
      commits.push(o);
      return Promise.resolve();
    },
  };
};

function result(offsets: string[]): BatchResult {
  return {
    datagrams: offsets.length,
    rows: offsets.map((o) => ({ kafka_offset: o, seq: 0 }) as WorkflowChangeRow),
    events: offsets.map((o) => ({ kafka_offset: o, kafka_index: 0 }) as EventRow),
    rejected: [],
    skipped: 0,
    lookedUp: 0,
    applied: offsets.length,
    unchanged: 0,
    lastOffset: offsets[offsets.length - 1] ?? null,
    lastPosition: offsets.length > 0 ? positionOf(offsets[offsets.length - 1] as string, 0) : -1n,
  };
}

function writer(sink: WorkflowSink, insertGatherMs = 0) {
  const metrics = new Metrics();
  const w = new BatchWriter({
    sink,
    metrics,
    logger: pino({ level: 'silent' }),
    now: Date.now,
    publishRejected: () => Promise.resolve(),
    insertGatherMs,
  });
  return { w, metrics };
}

const noReprocess = {
  process: () => Promise.reject(new Error('no isolation expected')),
  forgetUnflushed: () => undefined,
  flushed: () => undefined,
};

describe('BatchWriter', () => {
  it.each([
    ['both inserts succeed', {}, 1, 1],
    ['the change insert fails, then succeeds', { changes: ['fail' as const] }, 2, 1],
    ['the event insert fails twice, then succeeds', { events: ['fail' as const, 'fail' as const] }, 1, 3],
  ])('%s: each row lands once, then the commit', async (_name, script, changeAttempts, eventAttempts) => {
    const fake = fakeSink(script);
    const { w, metrics } = writer(fake.sink);
    const c = ctx();
    const r = result(['10', '11']);
    const release = w.begin(0, 0n);
    expect(await w.write(c, r, [], release, noReprocess)).toBeNull();
    expect(fake.inserted).toEqual({ changes: [['10', '11']], events: [['10', '11']] });
    expect(fake.attempts).toEqual({ changes: changeAttempts, events: eventAttempts });
    expect(metrics.get('aggregator_sink_retries_total', { op: 'insert changes' })).toBe(changeAttempts - 1);
    const mark = await w.commit(c, r, { changes: 9n, events: 9n }, null);
    expect(c.commits).toEqual(['11']);
    expect(mark).toEqual<Watermark>({ changes: positionOf('11', 0), events: positionOf('11', 0) });
  });

  it('an insert that landed but reported a failure is not sent again (the watermarks say it landed)', async () => {
    const fake = fakeSink({ changes: ['land-then-fail'] });
    const { w } = writer(fake.sink);
    await w.write(ctx(), result(['20']), [], w.begin(0, 0n), noReprocess);
    expect(fake.inserted.changes).toEqual([['20']]);
    expect(fake.attempts.changes).toBe(1);
    expect(fake.inserted.events).toEqual([['20']]);
  });

  it('of two tables, the one that landed is not written again when the other fails', async () => {
    const fake = fakeSink({ events: ['land-then-fail', 'fail'] });
    const { w } = writer(fake.sink);
    await w.write(ctx(), result(['30', '31']), [], w.begin(0, 0n), noReprocess);
    expect(fake.inserted).toEqual({ changes: [['30', '31']], events: [['30', '31']] });
  });

  it.each([
    ['no backlog: the insert waits for the other partition of the fetch', 0n, 1],
    ['a backlog: the gather is off, each partition inserts at once', 5_000n, 2],
  ])('%s', async (_name, backlog, inserts) => {
    const fake = fakeSink();
    const { w } = writer(fake.sink, 2_000); // ms of gather, far more than the test waits
    const first = w.begin(0, backlog);
    const second = w.begin(1, 0n);
    const a = w.write(ctx(0), result(['1']), [], first, noReprocess);
    // The second partition is still processing: without a backlog the first insert is held.
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.inserted.changes.length).toBe(inserts - 1);
    const b = w.write(ctx(1), result(['2']), [], second, noReprocess);
    await Promise.all([a, b]);
    expect(fake.inserted.changes.length).toBe(inserts);
    expect(fake.inserted.changes.flat().sort()).toEqual(['1', '2']);
  });
});
