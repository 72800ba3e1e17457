import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import { drained, FakePublisher, testReplayer } from './testing.fixture.js';
import type { RelayRecord } from './records.js';
import { decodeSegment, encodeRecord, Spool, type SpooledRecord } from './spool.js';
import { SpoolReplayer } from './spool-replayer.js';

const logger = pino({ level: 'silent' });

const rec = (i: number, topic = 'raw'): RelayRecord => ({
  topic,
  key: i % 3 === 0 ? null : Buffer.from(`id-${i}`),
  value: Buffer.from([0x31, 0xff, 0x00, i & 0xff]),
  headers: {
    received_at_ms: String(1_700_000_000_000 + i),
    relay_id: 'r',
    protocol: 'v1',
    relay_seq: `n-${i}`,
  },
});
/** As an older relay spooled it: no relay_seq to look it up by. */
const unnumbered = (i: number): RelayRecord => {
  const { relay_seq: _, ...headers } = rec(i).headers;
  return { ...rec(i), headers };
};

const doubted = (r: RelayRecord, doubtSinceMs: number): SpooledRecord => ({ ...r, doubtSinceMs });

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relay-spool-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const open = (over: Partial<Parameters<typeof Spool.open>[0]> = {}) =>
  Spool.open({ dir, maxBytes: 1024 * 1024, fsync: true, logger, ...over });

describe('record encoding', () => {
  it.each([0, 1, 2, 255])('round-trips record %i exactly', (i) => {
    const r = rec(i);
    expect(decodeSegment(encodeRecord(r))).toEqual({ records: [r], tornBytes: 0 });
  });

  it.each([
    ['a truncated tail', (b: Buffer) => b.subarray(0, b.length - 3)],
    ['a flipped byte', (b: Buffer) => Buffer.concat([b.subarray(0, -1), Buffer.from([b.at(-1)! ^ 1])])],
  ])('stops at %s and reports the torn bytes', (_name, damage) => {
    const good = encodeRecord(rec(1));
    const last = damage(encodeRecord(rec(2)));
    const out = decodeSegment(Buffer.concat([good, last]));
    expect(out.records).toEqual([rec(1)]);
    expect(out.tornBytes).toBe(last.length);
  });
});

describe('Spool', () => {
  it('appends, reads oldest first, and removes', async () => {
    const spool = await open({ segmentMaxBytes: 1 }); // every append starts a new segment
    expect(spool.isEmpty()).toBe(true);
    await spool.append([rec(1), rec(2)]);
    await spool.append([rec(3)]);
    expect(spool.isEmpty()).toBe(false);
    const first = await spool.readOldest();
    expect(first?.records).toEqual([rec(1), rec(2)]);
    await spool.remove(first!.seq);
    const second = await spool.readOldest();
    expect(second?.records).toEqual([rec(3)]);
    await spool.remove(second!.seq);
    expect(spool.isEmpty()).toBe(true);
    expect(spool.bytes).toBe(0);
    await spool.close();
  });

  it('survives a restart, and does not append to the old segment', async () => {
    const a = await open();
    await a.append([rec(1), rec(2)]);
    const bytes = a.bytes;
    await a.close();
    const b = await open();
    expect(b.bytes).toBe(bytes);
    await b.append([rec(3)]);
    expect((await readdir(dir)).filter((f) => f.endsWith('.seg'))).toHaveLength(2);
    const s1 = await b.readOldest();
    await b.remove(s1!.seq);
    const s2 = await b.readOldest();
    // The earlier run's oldest segment may have been partly published before it stopped:
    // each record is in doubt from its receipt. The segment this run wrote is not.
    expect([...s1!.records, ...s2!.records]).toEqual([
      doubted(rec(1), 1_700_000_000_001),
      doubted(rec(2), 1_700_000_000_002),
      rec(3),
    ]);
    await b.close();
  });

  it("keeps a failed attempt's time with the records, across a restart", async () => {
    const a = await open();
    await a.append([rec(1)]);
    await a.append([rec(2), rec(3)], 42);
    await a.close();
    expect(decodeSegment(encodeRecord(rec(4), 7)).records).toEqual([doubted(rec(4), 7)]);
    const b = await open();
    const out = await b.readOldest();
    // rec(2) and rec(3) keep the earlier (failed attempt) time; rec(1) gets its receipt time.
    expect(out?.records).toEqual([
      doubted(rec(1), 1_700_000_000_001),
      doubted(rec(2), 42),
      doubted(rec(3), 42),
    ]);
    await b.close();
  });

  it('refuses appends past maxBytes and keeps what it has', async () => {
    const one = encodeRecord(rec(1)).length;
    const spool = await open({ maxBytes: one * 2 });
    expect((await spool.append([rec(1)])).kind).toBe('ok');
    expect((await spool.append([rec(2)])).kind).toBe('ok');
    expect((await spool.append([rec(3)])).kind).toBe('full');
    expect(spool.bytes).toBe(one * 2);
    await spool.close();
  });

  it('reads a torn tail left by a crash as far as it is intact', async () => {
    const a = await open();
    await a.append([rec(1)]);
    await a.close();
    const [seg] = (await readdir(dir)).filter((f) => f.endsWith('.seg'));
    await appendFile(join(dir, seg!), encodeRecord(rec(2)).subarray(0, 10));
    const b = await open();
    const out = await b.readOldest();
    expect(out?.records).toEqual([doubted(rec(1), 1_700_000_000_001)]);
    expect(out?.tornBytes).toBe(10);
    await b.close();
  });

  it.each([
    ['a live pid', String(process.ppid), true],
    ['a dead pid', '999999999', false],
  ])('a LOCK held by %s %s', async (_name, pid, refused) => {
    await writeFile(join(dir, 'LOCK'), pid);
    const opening = open();
    if (refused) {
      await expect(opening).rejects.toThrow(/in use/);
    } else {
      await (await opening).close();
    }
  });
});

describe('SpoolReplayer', () => {
  it('drains in order once Kafka is back, then stops', async () => {
    const spool = await open({ segmentMaxBytes: 1 });
    const publisher = new FakePublisher();
    publisher.mode = 'down';
    const { metrics, replayer } = testReplayer(spool, publisher);
    for (let i = 0; i < 5; i++) await spool.append([rec(2 * i), rec(2 * i + 1)]);
    replayer.kick();
    await new Promise((r) => setTimeout(r, 30));
    expect(publisher.published).toEqual([]);
    expect(metrics.publishErrors.get({ retriable: 'true' })).toBeGreaterThan(0);
    publisher.mode = 'up';
    await drained(spool, replayer);
    expect(publisher.published).toEqual(Array.from({ length: 10 }, (_, i) => rec(i)));
    expect(metrics.published.get({ topic: 'raw' })).toBe(10);
    await replayer.stop();
    await spool.close();
  });

  it('drops a chunk Kafka refuses for good instead of blocking on it', async () => {
    const spool = await open();
    const publisher = new FakePublisher();
    publisher.permanentFailures = 1;
    const metrics = createMetrics();
    const replayer = new SpoolReplayer({ spool, publisher, metrics, logger, chunkMaxMessages: 1 });
    await spool.append([rec(1), rec(2)]);
    replayer.kick();
    while (!spool.isEmpty() || replayer.isRunning()) await new Promise((r) => setTimeout(r, 5));
    expect(publisher.published).toEqual([rec(2)]);
    expect(metrics.dropped.get({ reason: 'publish_rejected' })).toBe(1);
    await spool.close();
  });

  it.each([
    [
      'nothing uncertain: no read-back',
      [],
      [{ recs: [rec(1), rec(2)] }, { recs: [rec(3)] }],
      [rec(1), rec(2), rec(3)],
      0,
    ],
    [
      'a failed publish that had landed: not sent again',
      [rec(1), rec(2)],
      [{ recs: [rec(1), rec(2)], doubt: 5 }, { recs: [rec(3)] }],
      [rec(1), rec(2), rec(3)],
      2,
    ],
    [
      'a failed publish that had landed in part',
      [rec(2)],
      [{ recs: [rec(1), rec(2), rec(3)], doubt: 5 }],
      [rec(2), rec(1), rec(3)],
      1,
    ],
    [
      'a failed publish that had not landed: sent',
      [],
      [{ recs: [rec(1), rec(2)], doubt: 5 }],
      [rec(1), rec(2)],
      0,
    ],
    [
      'unnumbered records (an older relay spooled them): sent again, at least once as before',
      [unnumbered(1)],
      [{ recs: [unnumbered(1)], doubt: 5 }],
      [unnumbered(1), unnumbered(1)],
      0,
    ],
  ] as const)('%s', async (_name, before, appends, topic, already) => {
    const spool = await open({ segmentMaxBytes: 1 });
    const publisher = new FakePublisher();
    publisher.published.push(...before);
    const { metrics, replayer } = testReplayer(spool, publisher);
    for (const a of appends) await spool.append(a.recs, 'doubt' in a ? a.doubt : undefined);
    replayer.kick();
    await drained(spool, replayer);
    expect(publisher.published).toEqual(topic);
    const spooled = appends.reduce((n, a) => n + a.recs.length, 0);
    expect(metrics.published.get({ topic: 'raw' })).toBe(spooled);
    expect(metrics.spoolAlreadyPublished.get()).toBe(already);
    expect(metrics.spoolMessages.get()).toBe(-spooled);
    await spool.close();
  });

  it('every replay attempt lands yet reports failure: each record still reaches Kafka once', async () => {
    const spool = await open();
    const publisher = new FakePublisher();
    publisher.mode = 'ghost';
    const { metrics, replayer } = testReplayer(spool, publisher);
    const recs = Array.from({ length: 7 }, (_, i) => rec(i));
    await spool.append(recs);
    replayer.kick();
    await drained(spool, replayer);
    expect(publisher.published).toEqual(recs);
    expect(metrics.published.get({ topic: 'raw' })).toBe(7);
    expect(metrics.spoolAlreadyPublished.get()).toBe(7);
    expect(metrics.publishErrors.get({ retriable: 'true' })).toBe(4);
    await spool.close();
  });

  it('after a crash mid-replay, what the earlier run published is not sent again', async () => {
    const a = await open({ segmentMaxBytes: 1 });
    await a.append([rec(1), rec(2), rec(3), rec(4)]);
    await a.append([rec(5)]);
    await a.close();
    const publisher = new FakePublisher();
    // The earlier run published the first chunk, then died before deleting the segment.
    publisher.published.push(rec(1), rec(2));
    const b = await open();
    const { metrics, replayer } = testReplayer(b, publisher);
    replayer.kick();
    await drained(b, replayer);
    expect(publisher.published).toEqual([1, 2, 3, 4, 5].map((i) => rec(i)));
    // Read back from the oldest receipt in the head segment; the segment behind it was never
    // replayed, so it needs no read-back.
    expect(publisher.lookups).toEqual([{ topic: 'raw', sinceMs: 1_700_000_000_001, wanted: 4 }]);
    expect(metrics.spoolRecovered.get()).toBe(5);
    expect(metrics.spoolAlreadyPublished.get()).toBe(2);
    await b.close();
  });

  it('settles once Kafka answers, and retries a read-back Kafka cannot answer', async () => {
    const settleMs = 300;
    const spool = await open();
    const publisher = new FakePublisher();
    publisher.mode = 'down';
    const { metrics, replayer } = testReplayer(spool, publisher, { settleMs });
    const failedAt = Date.now();
    await spool.append([rec(1), rec(2)], failedAt);
    replayer.kick();
    // Longer than the settle: it counts from Kafka's answer, not from the failed attempt.
    await new Promise((r) => setTimeout(r, 2 * settleMs));
    expect(publisher.lookups).toEqual([]);
    expect(metrics.publishErrors.get({ retriable: 'true' })).toBeGreaterThan(0);
    publisher.mode = 'up';
    const upAt = Date.now();
    await drained(spool, replayer);
    expect(Date.now() - upAt).toBeGreaterThanOrEqual(settleMs - 5); // timer granularity
    expect(publisher.lookups).toEqual([{ topic: 'raw', sinceMs: failedAt, wanted: 2 }]);
    expect(metrics.readbacks.get({ outcome: 'ok' })).toBe(1);
    expect(metrics.readbacks.get({ outcome: 'failed' })).toBeGreaterThan(0);
    expect(publisher.published).toEqual([rec(1), rec(2)]);
    await spool.close();
  });

  it('reads the raw and the rejected topic back side by side, each after its own settle', async () => {
    const spool = await open();
    const publisher = new FakePublisher();
    const { metrics, replayer } = testReplayer(spool, publisher, { settleMs: 50 });
    await spool.append([rec(1), rec(2, 'rejected'), rec(3)], 1_000);
    replayer.kick();
    await drained(spool, replayer);
    expect(publisher.maxSettling).toBe(2);
    expect([...publisher.lookups].sort((a, b) => a.topic.localeCompare(b.topic))).toEqual([
      { topic: 'raw', sinceMs: 1_000, wanted: 2 },
      { topic: 'rejected', sinceMs: 1_000, wanted: 1 },
    ]);
    expect(metrics.readbacks.get({ outcome: 'ok' })).toBe(2);
    expect(publisher.published).toEqual([rec(1), rec(2, 'rejected'), rec(3)]);
    await spool.close();
  });

  it("stop() ends the read-backs' settles at once and leaves their records uncertain on disk", async () => {
    const spool = await open();
    const publisher = new FakePublisher();
    const { metrics, replayer } = testReplayer(spool, publisher, { settleMs: 60_000 });
    const failedAt = Date.now();
    await spool.append([rec(1), rec(2, 'rejected')], failedAt);
    replayer.kick();
    const deadline = Date.now() + 5_000; // ms
    while (publisher.settles < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(publisher.settles).toBe(2);
    const t0 = Date.now();
    await replayer.stop();
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(publisher.published).toEqual([]);
    expect(metrics.readbacks.get({ outcome: 'failed' })).toBe(0);
    expect(metrics.publishErrors.get({ retriable: 'true' })).toBe(0);
    await spool.close();
    const again = await open();
    const seg = await again.readOldest();
    // The head segment an earlier run was replaying: uncertain from each record's receive time.
    expect(seg?.records).toEqual([
      doubted(rec(1), 1_700_000_000_001),
      doubted(rec(2, 'rejected'), 1_700_000_000_002),
    ]);
    await again.close();
  });
});
