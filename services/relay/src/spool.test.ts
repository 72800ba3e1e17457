import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PublishError } from './errors.js';
import { createMetrics } from './metrics.js';
import type { Publisher } from './publisher.js';
import type { RelayRecord } from './records.js';
import { decodeSegment, encodeRecord, Spool, SpoolReplayer } from './spool.js';

const logger = pino({ level: 'silent' });

const rec = (i: number, topic = 'raw'): RelayRecord => ({
  topic,
  key: i % 3 === 0 ? null : Buffer.from(`id-${i}`),
  value: Buffer.from([0x31, 0xff, 0x00, i & 0xff]),
  headers: { received_at_ms: String(1_700_000_000_000 + i), relay_id: 'r', protocol: 'v1' },
});

/** A Publisher that records what it is given and fails while `down` is set. */
class FakePublisher implements Publisher {
  readonly published: RelayRecord[] = [];
  down = false;
  permanentFailures = 0;

  publish(records: readonly RelayRecord[]): Promise<void> {
    if (this.permanentFailures > 0) {
      this.permanentFailures--;
      return Promise.reject(new PublishError('too large', { retriable: false }));
    }
    if (this.down) return Promise.reject(new PublishError('down', { retriable: true }));
    this.published.push(...records);
    return Promise.resolve();
  }
  isConnected = (): boolean => !this.down;
  connect = (): Promise<void> => Promise.resolve();
  disconnect = (): Promise<void> => Promise.resolve();
}

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
    expect([...s1!.records, ...s2!.records]).toEqual([rec(1), rec(2), rec(3)]);
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
    expect(out?.records).toEqual([rec(1)]);
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
    publisher.down = true;
    const metrics = createMetrics();
    const replayer = new SpoolReplayer({
      spool,
      publisher,
      metrics,
      logger,
      chunkMaxMessages: 2,
      backoff: { initialMs: 1, maxMs: 5 },
    });
    for (let i = 0; i < 5; i++) await spool.append([rec(2 * i), rec(2 * i + 1)]);
    replayer.kick();
    await new Promise((r) => setTimeout(r, 30));
    expect(publisher.published).toEqual([]);
    expect(metrics.publishErrors.get({ retriable: 'true' })).toBeGreaterThan(0);
    publisher.down = false;
    while (!spool.isEmpty() || replayer.isRunning()) await new Promise((r) => setTimeout(r, 5));
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
});
