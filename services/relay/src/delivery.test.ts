import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Batch } from './batcher.js';
import { createDelivery } from './delivery.js';
import { drained, FakePublisher, testReplayer } from './testing.fixture.js';
import type { RelayRecord } from './records.js';
import { Spool } from './spool.js';

const logger = pino({ level: 'silent' });
const rec = (i: number): RelayRecord => ({
  topic: 'raw',
  key: Buffer.from(`id-${i}`),
  value: Buffer.from(`1{"n":${i}}`),
  headers: { received_at_ms: String(i), relay_id: 'r', protocol: 'v1', relay_seq: `n-${i}` },
});
const batch = (...ids: number[]): Batch => ({ records: ids.map(rec), openedAtMs: 0 });
const values = (rs: readonly RelayRecord[]) => rs.map((r) => r.value.toString());

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'relay-delivery-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function setup(maxBytes = 1024 * 1024) {
  const spool = await Spool.open({ dir, maxBytes, fsync: false, logger, segmentMaxBytes: 64 });
  const publisher = new FakePublisher();
  const { metrics, replayer } = testReplayer(spool, publisher);
  const delivery = createDelivery({ publisher, spool, replayer, metrics, logger, now: () => 1 });
  const deliver = (b: Parameters<typeof delivery.deliver>[0]) => delivery.deliver(b);
  const settle = () => drained(spool, replayer);
  return { spool, publisher, metrics, replayer, delivery, deliver, settle };
}

describe('delivery', () => {
  it('publishes directly while Kafka is up and the spool is empty', async () => {
    const t = await setup();
    await t.deliver(batch(1, 2));
    expect(values(t.publisher.published)).toEqual(values([rec(1), rec(2)]));
    expect(t.metrics.published.get({ topic: 'raw' })).toBe(2);
    expect((await t.metrics.batchLatency.render()).join('\n')).toContain(
      'relay_batch_latency_seconds_count 1',
    );
    expect(t.spool.isEmpty()).toBe(true);
    await t.spool.close();
  });

  it('keeps arrival order across an outage: spool first, new batches behind it', async () => {
    const t = await setup();
    await t.deliver(batch(1));
    t.publisher.mode = 'down';
    await t.deliver(batch(2, 3));
    await t.deliver(batch(4));
    expect(t.metrics.spooled.get()).toBe(3);
    t.publisher.mode = 'up';
    // The spool is not empty yet, so this batch must queue behind it rather than overtake.
    await t.deliver(batch(5));
    await t.settle();
    await t.deliver(batch(6));
    expect(values(t.publisher.published)).toEqual(values([1, 2, 3, 4, 5, 6].map(rec)));
    await t.replayer.stop();
    await t.spool.close();
  });

  it('a batch whose publish failed but had landed is not sent again', async () => {
    const t = await setup();
    t.publisher.mode = 'ghost';
    await t.deliver(batch(1, 2));
    t.publisher.mode = 'up';
    await t.deliver(batch(3));
    await t.settle();
    expect(values(t.publisher.published)).toEqual(values([1, 2, 3].map(rec)));
    // Looked up from the failed attempt's start (the delivery clock reads 1).
    expect(t.publisher.lookups).toEqual([{ topic: 'raw', sinceMs: 1, wanted: 2 }]);
    expect(t.metrics.published.get({ topic: 'raw' })).toBe(3);
    expect(t.metrics.spoolAlreadyPublished.get()).toBe(2);
    await t.replayer.stop();
    await t.spool.close();
  });

  it('a spilled backlog is not overtaken by the batch delivered right after it', async () => {
    const t = await setup();
    // Kafka is up: without the guard, batch 3 would publish before the spill's append lands.
    const spilled = t.delivery.spill(batch(1, 2));
    await t.deliver(batch(3));
    await spilled;
    await t.settle();
    expect(values(t.publisher.published)).toEqual(values([1, 2, 3].map(rec)));
    expect(t.metrics.spilled.get()).toBe(2);
    expect(t.metrics.spooled.get()).toBe(3);
    expect(t.metrics.delivering.get()).toBe(0);
    await t.replayer.stop();
    await t.spool.close();
  });

  it.each([
    ['refuse', 'publish_rejected', 1_000_000],
    ['down', 'spool_full', 10],
  ] as const)('Kafka %s: batch counted as dropped{reason=%s}', async (mode, reason, maxBytes) => {
    const t = await setup(maxBytes);
    t.publisher.mode = mode;
    await t.deliver(batch(1, 2, 3));
    expect(t.metrics.dropped.get({ reason })).toBe(3);
    expect(t.metrics.spooled.get()).toBe(0);
    await t.replayer.stop();
    await t.spool.close();
  });
});
