import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { EachBatchPayload, TopicPartitionOffsetAndMetadata } from 'kafkajs';
import { Metrics } from '@parsl-usage/common';
import { decodeDatagram, type EventRow, type WorkflowChangeRow } from '@parsl-usage/schemas';
import { BatchHandler } from './batch-handler.js';
import { BatchWriter } from './batch-writer.js';
import { JoinWindow } from '../join/join-window.js';
import { StoredIds } from '../join/stored-ids.js';
import { RefusedError } from '../errors.js';
import type { Watermark, WorkflowSink } from '../ports.js';
import { positionOf } from '../position.js';

/**
 * The batch handler with its real collaborators (writer, lanes, join window, stored ids, the
 * decoder) against an in-memory WorkflowSink that keeps ClickHouse's contract for the
 * aggregator: an insert lands whole or not at all, and the watermarks are the highest offsets
 * each table holds. Kafka is seen through the handler's own narrow ports: the commitOffsets it
 * calls, the seek it is given, and one EachBatchPayload per fetch, built here as kafkajs
 * hands it over. Every call lands in one log, so orders can be asserted.
 */
const fixture = (p: string) =>
  readFileSync(new URL(`../../../../schemas/fixtures/parsl-2025.03.17/${p}`, import.meta.url), 'utf8');
const LAUNCH = fixture('level3-launch.bin');
const ID = /"correlator":\s*"[^"]+"/;
const NOW = Date.UTC(2026, 11, 7); // ms
const TOPIC = 'raw';

/** A release for the inserts: they land only once it is called. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/** Polls until `cond` holds (background writes end on their own time). */
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const ticks = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** `from-to` of consecutive offsets, as the log shows an insert. */
const span = (offsets: string[]): string => {
  const sorted = [...new Set(offsets)].map(Number).sort((a, b) => a - b);
  return sorted.length === 0 ? '' : `${sorted[0]}-${sorted[sorted.length - 1]}`;
};

interface SinkOptions {
  /** what each partition's tables held before the test */
  held?: Map<number, Watermark>;
  /** offsets whose change rows ClickHouse refuses, every time */
  refuse?: Set<string>;
}

/** cleanViews: what a sink that lands its inserts whole holds (nothing to repair). */
const cleanViews = {
  diff: () => Promise.resolve([]),
  insertDiff: () => Promise.resolve(),
  repairVersions: () => Promise.resolve(0),
  replicationBacklog: () => Promise.resolve(false),
};

function fakeSink(log: string[], opts: SinkOptions) {
  const stored = { changes: [] as WorkflowChangeRow[], events: [] as EventRow[] };
  const calls = { watermarks: 0, storedHashes: 0 };
  /** errors the next change inserts throw, in order */
  const failChanges: Error[] = [];
  let hold: Promise<void> = Promise.resolve();
  // Positions (position.ts), as the sink's: a change row's entry is seq / 2, an event's its index.
  // `opts.held` is in offsets, of records that are not packs.
  const positionOfRow = (r: WorkflowChangeRow | EventRow): bigint =>
    positionOf(r.kafka_offset, 'seq' in r ? r.seq >> 1 : r.kafka_index);
  const held = (partition: number, table: 'changes' | 'events'): bigint => {
    const rows: (WorkflowChangeRow | EventRow)[] = stored[table];
    const given = opts.held?.get(partition)?.[table] ?? -1n;
    return rows
      .filter((r) => r.kafka_partition === partition)
      .reduce((m, r) => (positionOfRow(r) > m ? positionOfRow(r) : m), given < 0n ? -1n : positionOf(given, 0));
  };
  const sink: WorkflowSink = {
    async insertChanges(rows) {
      await hold;
      const failure = failChanges.shift();
      if (failure !== undefined) throw failure;
      if (rows.some((r) => opts.refuse?.has(r.kafka_offset)))
        throw new RefusedError('Cannot parse input', 27);
      stored.changes.push(...rows);
      log.push(`changes p${rows[0]?.kafka_partition} ${span(rows.map((r) => r.kafka_offset))}`);
    },
    insertEvents(rows) {
      stored.events.push(...rows);
      log.push(`events p${rows[0]?.kafka_partition} ${span(rows.map((r) => r.kafka_offset))}`);
      return Promise.resolve();
    },
    lookup: () => Promise.resolve(new Map()),
    watermarks() {
      calls.watermarks++;
      const partitions = new Set([
        ...(opts.held?.keys() ?? []),
        ...stored.changes.map((r) => r.kafka_partition),
      ]);
      for (const r of stored.events) partitions.add(r.kafka_partition);
      return Promise.resolve(
        new Map([...partitions].map((p) => [p, { changes: held(p, 'changes'), events: held(p, 'events') }])),
      );
    },
    forEachStoredHash() {
      calls.storedHashes++;
      return Promise.resolve(0);
    },
    ping: () => Promise.resolve(true),
    unconfirmedParts: () => Promise.resolve({ at: '', parts: 0 }),
    storedChanges: (r) =>
      Promise.resolve(
        new Set(
          stored.changes
            .filter((c) => c.kafka_partition === r.partition)
            .filter((c) => BigInt(c.kafka_offset) >= r.from && BigInt(c.kafka_offset) <= r.to)
            .map((c) => `${c.kafka_offset}:${c.seq}`),
        ),
      ),
    views: () => Promise.resolve({ port: cleanViews, targets: [] }),
  };
  /** Holds every change insert until the returned function is called. */
  const holdInserts = (): (() => void) => {
    const g = gate();
    hold = g.opened;
    return g.open;
  };
  /** offsets of `table` stored for `partition`, in insert order */
  const offsets = (table: 'changes' | 'events', partition = 0): string[] => {
    const rows: { kafka_partition: number; kafka_offset: string }[] = stored[table];
    return rows.filter((r) => r.kafka_partition === partition).map((r) => r.kafka_offset);
  };
  return { sink, calls, failChanges, holdInserts, offsets };
}

function setup(opts: SinkOptions & { maxQueuedWrites?: number } = {}) {
  const log: string[] = [];
  const seeks: string[] = [];
  const rejected: string[] = [];
  const fake = fakeSink(log, opts);
  const metrics = new Metrics();
  const logger = pino({ level: 'silent' });
  const now = () => NOW;
  const retry = { sink: fake.sink, metrics, logger, now };
  const consumer = {
    commitOffsets(list: TopicPartitionOffsetAndMetadata[]) {
      for (const c of list) log.push(`commit p${c.partition} ${c.offset}`);
      return Promise.resolve();
    },
  };
  const handler = new BatchHandler({
    ...retry,
    consumer,
    seek: (partition, offset) => seeks.push(`p${partition} ${offset}`),
    maxQueuedWrites: opts.maxQueuedWrites,
    decode: decodeDatagram,
    window: new JoinWindow({ maxEntries: 1_000, windowMs: 7 * 86_400_000 }),
    storedIds: new StoredIds({ ...retry, capacity: 1_000 }),
    writer: new BatchWriter({
      ...retry,
      insertGatherMs: 0,
      repairSettleMs: 0,
      publishRejected: (r) => {
        rejected.push(...r.map((m) => `${m.offset} ${m.reason}`));
        return Promise.resolve();
      },
    }),
  });

  /** One fetch of `count` messages from `from`, as kafkajs hands it to eachBatch. */
  function batch(
    partition: number,
    from: number,
    count: number,
    o: { highWatermark?: number; garbage?: number[]; stale?: boolean; running?: boolean } = {},
  ): EachBatchPayload {
    const messages = Array.from({ length: count }, (_, i) => {
      const offset = from + i;
      const value = o.garbage?.includes(offset)
        ? Buffer.from('not a datagram')
        : Buffer.from(LAUNCH.replace(ID, `"correlator": "${randomUUID()}"`));
      return { offset: String(offset), key: null, value, headers: {}, timestamp: String(NOW), attributes: 0 };
    });
    const payload = {
      batch: {
        topic: TOPIC,
        partition,
        highWatermark: String(o.highWatermark ?? from + count),
        messages,
        firstOffset: () => messages[0]?.offset ?? null,
        lastOffset: () => String(from + count - 1),
      },
      resolveOffset: (offset: string) => log.push(`resolve p${partition} ${offset}`),
      heartbeat: () => Promise.resolve(),
      isRunning: () => o.running ?? true,
      isStale: () => o.stale ?? false,
    };
    // Only the members the handler reads; kafkajs' batch has more.
    return payload as unknown as EachBatchPayload;
  }

  const commits = () => log.filter((l) => l.startsWith('commit'));
  return { handler, log, seeks, rejected, metrics, batch, commits, ...fake };
}

const range = (from: number, to: number): string[] =>
  Array.from({ length: to - from + 1 }, (_, i) => String(from + i));

describe('BatchHandler: the watermarks', () => {
  it.each([
    // [case, held before, change rows written for, events written for, skipped]
    ['nothing stored: every message is written', -1n, -1n, range(0, 4), range(0, 4), 0],
    ['both tables hold 0-2: only 3-4 are written', 2n, 2n, range(3, 4), range(3, 4), 3],
    [
      'changes hold 0-3, events 0-1: the audit rows of 2-3 are written again, not their changes',
      3n,
      1n,
      ['4'],
      range(2, 4),
      4,
    ],
    [
      'events hold 0-3, changes 0-1: the changes of 2-3 are written again, not their audit rows',
      1n,
      3n,
      range(2, 4),
      ['4'],
      2,
    ],
    ['both hold the whole batch: nothing is written, the batch is still committed', 4n, 4n, [], [], 5],
  ])('%s', async (_case, changes, events, wantChanges, wantEvents, skipped) => {
    const h = setup({ held: new Map([[0, { changes, events }]]) });
    await h.handler.handle(h.batch(0, 0, 5));
    await until(() => h.commits().length === 1);
    expect(h.offsets('changes')).toEqual(wantChanges);
    expect(h.offsets('events')).toEqual(wantEvents);
    expect(h.commits()).toEqual(['commit p0 5']);
    expect(h.metrics.get('aggregator_replayed_skipped_total')).toBe(skipped);
    expect(h.metrics.get('aggregator_messages_total')).toBe(5);
  });

  it.each([
    ['not yet applied: it is published to the rejected topic', -1n, ['2']],
    ['already applied before a crash: its rejection was published then, not again', 2n, []],
  ])('a message the decoder rejects, %s; the batch is committed past it', async (_case, changes, want) => {
    const h = setup({ held: new Map([[0, { changes, events: -1n }]]) });
    await h.handler.handle(h.batch(0, 0, 5, { garbage: [2] }));
    await until(() => h.commits().length === 1);
    expect(h.rejected.map((r) => r.split(' ')[0])).toEqual(want);
    expect(h.rejected.every((r) => r.split(' ')[1] !== 'sink_refused')).toBe(true);
    expect(h.offsets('events')).not.toContain('2');
    expect(h.offsets('changes')).not.toContain('2');
    expect(h.commits()).toEqual(['commit p0 5']);
  });

  it('reads the watermarks once per assignment, for every partition, and again after a group join', async () => {
    const h = setup();
    await h.handler.handle(h.batch(0, 0, 2));
    await h.handler.handle(h.batch(1, 0, 2));
    await h.handler.handle(h.batch(0, 2, 2));
    await until(() => h.commits().length === 3);
    expect(h.calls).toEqual({ watermarks: 1, storedHashes: 1 });
    h.handler.reset();
    await h.handler.handle(h.batch(0, 4, 2));
    expect(h.calls).toEqual({ watermarks: 2, storedHashes: 2 });
  });
});

describe('BatchHandler: queued and inline writes', () => {
  it('queues a batch: returns once it is processed, the fetch moved on, and commits after its inserts', async () => {
    const h = setup();
    const open = h.holdInserts();
    await h.handler.handle(h.batch(0, 0, 5));
    expect(h.log).toEqual(['resolve p0 4']);
    expect(h.handler.queuedWrites).toBe(1);
    open();
    await until(() => h.commits().length === 1);
    expect(h.log).toEqual(['resolve p0 4', 'changes p0 0-4', 'events p0 0-4', 'commit p0 5']);
    expect(h.handler.queuedWrites).toBe(0);
    expect(h.handler.lastBatchAt).toBe(NOW);
  });

  it('holds the next fetch while maxQueuedWrites writes wait, and commits the batches in offset order', async () => {
    const h = setup({ maxQueuedWrites: 2 });
    const open = h.holdInserts();
    await h.handler.handle(h.batch(0, 0, 5));
    await h.handler.handle(h.batch(0, 5, 5));
    let third = false;
    const handled = h.handler.handle(h.batch(0, 10, 5)).then(() => (third = true));
    await ticks();
    expect(third).toBe(false);
    expect(h.handler.queuedWrites).toBe(2);
    open();
    await handled;
    await until(() => h.commits().length === 3);
    expect(h.commits()).toEqual(['commit p0 5', 'commit p0 10', 'commit p0 15']);
    // Each commit follows its batch's inserts; each batch's rows land once.
    for (const [events, commit] of [
      ['events p0 0-4', 'commit p0 5'],
      ['events p0 5-9', 'commit p0 10'],
      ['events p0 10-14', 'commit p0 15'],
    ] as const) {
      expect(h.log.indexOf(events)).toBeGreaterThanOrEqual(0);
      expect(h.log.indexOf(events)).toBeLessThan(h.log.indexOf(commit));
    }
    expect(h.offsets('changes')).toEqual(range(0, 14));
  });

  it('after a refusal, writes the batches that were in flight inline, isolating the refused message, then queues again', async () => {
    const h = setup({ refuse: new Set(['7']) });
    await h.handler.handle(h.batch(0, 0, 5));
    await until(() => h.commits().length === 1);
    await h.handler.handle(h.batch(0, 5, 5));
    // The background write is refused: the lane fails, and the partition is read from its commit.
    await until(() => h.seeks.length === 1);
    expect(h.seeks).toEqual(['p0 5']);
    expect(h.commits()).toEqual(['commit p0 5']);
    // kafkajs reads 5-9 again: written before handle returns, the refused message isolated.
    await h.handler.handle(h.batch(0, 5, 5));
    expect(h.commits()).toEqual(['commit p0 5', 'commit p0 10']);
    expect(h.rejected).toEqual(['7 sink_refused']);
    expect(h.offsets('changes')).toEqual([...range(0, 6), '8', '9']);
    expect(h.metrics.get('aggregator_isolations_total')).toBe(1);
    // Past the batches that were in flight, writes are queued again.
    const open = h.holdInserts();
    await h.handler.handle(h.batch(0, 10, 5));
    expect(h.commits()).toEqual(['commit p0 5', 'commit p0 10']);
    open();
    await until(() => h.commits().length === 3);
    expect(h.commits().at(-1)).toBe('commit p0 15');
  });
});

describe('BatchHandler: a failed write', () => {
  it.each([
    ['nothing committed yet: back to the first offset read', false, 'p0 0'],
    ['a batch committed: back to the last commit', true, 'p0 5'],
  ])(
    'seeks back, %s; the retried batch throws the error, and the batches after it are written once',
    async (_case, committedFirst, seek) => {
      const h = setup();
      if (committedFirst) {
        await h.handler.handle(h.batch(0, 0, 5));
        await until(() => h.commits().length === 1);
      }
      const from = committedFirst ? 5 : 0;
      h.failChanges.push(new Error('disk full'));
      await h.handler.handle(h.batch(0, from, 5));
      await until(() => h.seeks.length === 1);
      expect(h.seeks).toEqual([seek]);
      // kafkajs reads the batch again: the failure is thrown there, as the write would have thrown it.
      await expect(h.handler.handle(h.batch(0, from, 5))).rejects.toThrow('disk full');
      // What the consumer does with a thrown batch (app.ts): the lane is dropped, the seek repeated.
      h.handler.afterFailure(0);
      expect(h.seeks).toEqual([seek, seek]);
      const reads = h.calls.watermarks;
      await h.handler.handle(h.batch(0, from, 5));
      await until(() => h.commits().length === (committedFirst ? 2 : 1));
      expect(h.calls.watermarks).toBe(reads + 1);
      expect(h.offsets('changes')).toEqual(range(0, from + 4));
      expect(h.commits().at(-1)).toBe(`commit p0 ${from + 5}`);
    },
  );

  it('a batch that fails in hand (afterFailure) drops the queued writes behind it', async () => {
    const h = setup();
    const open = h.holdInserts();
    await h.handler.handle(h.batch(0, 0, 5));
    h.handler.afterFailure(0);
    expect(h.seeks).toEqual(['p0 0']);
    open();
    await until(() => h.log.includes('events p0 0-4'));
    await ticks();
    expect(h.commits()).toEqual([]);
  });
});

describe('BatchHandler: epochs', () => {
  it('a group join drops the queued commit; the next owner skips what landed and commits it', async () => {
    const h = setup();
    const open = h.holdInserts();
    await h.handler.handle(h.batch(0, 0, 5));
    h.handler.reset();
    open();
    await until(() => h.log.includes('events p0 0-4'));
    await ticks();
    expect(h.commits()).toEqual([]);
    await h.handler.handle(h.batch(0, 0, 5));
    await until(() => h.commits().length === 1);
    expect(h.offsets('changes')).toEqual(range(0, 4));
    expect(h.offsets('events')).toEqual(range(0, 4));
    expect(h.metrics.get('aggregator_replayed_skipped_total')).toBe(5);
  });

  it.each([
    ['a stale batch (a rebalance is under way)', { stale: true }],
    ['a batch of a consumer that stopped running', { running: false }],
  ])('leaves %s alone', async (_case, o) => {
    const h = setup();
    await h.handler.handle(h.batch(0, 0, 5, o));
    await ticks();
    expect(h.log).toEqual([]);
    expect(h.calls).toEqual({ watermarks: 0, storedHashes: 0 });
  });

  it.each([
    ['the writes end within the grace: committed', 1_000, 10, ['commit p0 5']],
    ['the grace runs out first: not committed', 10, 100, []],
  ])('drain: %s, and no later batch is handled', async (_case, graceMs, openAfterMs, want) => {
    const h = setup();
    const open = h.holdInserts();
    await h.handler.handle(h.batch(0, 0, 5));
    const timer = setTimeout(open, openAfterMs);
    await h.handler.drain(graceMs);
    clearTimeout(timer);
    open();
    await ticks();
    expect(h.commits()).toEqual(want);
    await h.handler.handle(h.batch(0, 5, 5));
    await ticks();
    expect(h.log.filter((l) => l.includes('5-9') || l === 'resolve p0 9')).toEqual([]);
  });
});

describe('BatchHandler: after each commit', () => {
  it.each([
    ['at the end of the partition', 5, 0],
    ['100 messages behind it', 105, 100],
  ])('reports the lag %s', async (_case, highWatermark, lag) => {
    const h = setup();
    await h.handler.handle(h.batch(0, 0, 5, { highWatermark }));
    await until(() => h.commits().length === 1);
    expect(h.metrics.get('aggregator_consumer_lag', { partition: '0' })).toBe(lag);
    expect(h.metrics.get('aggregator_rows_inserted_total')).toBe(h.offsets('changes').length);
  });
});
