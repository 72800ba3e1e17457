import fc from 'fast-check';
import type { Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { envelopeWriter, openRecords } from '@parsl-usage/schemas';
import { packedMessages } from './packing.js';
import { partitionOfKey } from './partitioner.js';
import type { RelayRecord } from './records.js';

const writer = envelopeWriter('relay-test');

function accepted(id: string, seq: number, size = 40): RelayRecord {
  const datagram = Buffer.from(`1{"id":"${id}","pad":"${'x'.repeat(size)}"}`);
  return { topic: 'raw', key: Buffer.from(id), value: writer.wrap(datagram, 'v1', 1_000 + seq, `n-${seq}`), headers: {} };
}

/** Where each message lands, and the relay_seqs it carries in order. */
function landing(messages: Message[], partitions: number): { partition: number; seqs: string[] }[] {
  return messages.map((m) => {
    const value = m.value as Buffer;
    const partition =
      typeof m.partition === 'number' ? m.partition : partitionOfKey(m.key as Buffer, partitions);
    const seqs = openRecords(value).map((r) => (r.kind === 'envelope' ? r.fields.relaySeq : `raw:${value.toString()}`));
    return { partition, seqs };
  });
}

describe('packedMessages', () => {
  const records = [accepted('a', 0), accepted('b', 1), accepted('a', 2), accepted('c', 3)];

  it.each([
    ['partition count unknown (the first send)', undefined, 1_000],
    ['packing off (RELAY_PACK_MAX_DATAGRAMS=1)', 6, 1],
  ])('%s: every record goes as it is', (_what, partitions, maxDatagrams) => {
    expect(packedMessages(records, partitions, { maxDatagrams, maxBytes: 1 << 20 })).toBe(records);
  });

  it('one partition: one pack of every record, named by its partition, with no key', () => {
    const out = packedMessages(records, 1, { maxDatagrams: 1_000, maxBytes: 1 << 20 });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ partition: 0, key: null });
    expect(landing(out, 1)).toEqual([{ partition: 0, seqs: ['n-0', 'n-1', 'n-2', 'n-3'] }]);
  });

  it('a pack of one goes as the record itself, key and all', () => {
    const one = [accepted('a', 0)];
    expect(packedMessages(one, 6, { maxDatagrams: 1_000, maxBytes: 1 << 20 })[0]).toBe(one[0]);
  });

  it('a record that is not an envelope closes the pack of its partition first, so nothing overtakes', () => {
    const old: RelayRecord = { topic: 'raw', key: Buffer.from('a'), value: Buffer.from('1{}'), headers: { relay_seq: 'old' } };
    const out = packedMessages([accepted('a', 0), accepted('a', 1), old, accepted('a', 2)], 1, {
      maxDatagrams: 1_000,
      maxBytes: 1 << 20,
    });
    expect(landing(out, 1).flatMap((l) => l.seqs)).toEqual(['n-0', 'n-1', 'raw:1{}', 'n-2']);
  });

  it('keeps the order of each partition and every datagram once, within the limits (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...'abcdefghij'), fc.integer({ min: 0, max: 300 })), { maxLength: 120 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 50, max: 3_000 }),
        (spec, partitions, maxDatagrams, maxBytes) => {
          const input = spec.map(([id, size], i) => accepted(id, i, size));
          const out = packedMessages(input, partitions, { maxDatagrams, maxBytes });
          const landed = landing(out, partitions);
          for (let p = 0; p < partitions; p++) {
            const want = input
              .filter((r) => partitionOfKey(r.key as Buffer, partitions) === p)
              .map((r) => openRecords(r.value)[0])
              .map((r) => (r?.kind === 'envelope' ? r.fields.relaySeq : ''));
            expect(landed.filter((l) => l.partition === p).flatMap((l) => l.seqs)).toEqual(want);
          }
          out.forEach((m) => {
            const entries = openRecords(m.value as Buffer);
            expect(entries.length).toBeLessThanOrEqual(maxDatagrams);
            if (entries.length > 1) {
              expect(entries.every((e) => e.kind === 'envelope')).toBe(true);
              expect((m.value as Buffer).length - 4 - 4 * entries.length).toBeLessThanOrEqual(maxBytes);
            }
          });
        },
      ),
    );
  });
});
