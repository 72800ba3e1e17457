import { randomBytes, randomUUID } from 'node:crypto';
import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { keyHashPartitioner, PartitionCounts } from './partitioner.js';

const metadata = (n: number): PartitionMetadata[] =>
  Array.from({ length: n }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));

describe('keyHashPartitioner', () => {
  it.each([1, 2, 3, 6, 7, 12, 64])(
    'puts every key where kafkajs DefaultPartitioner does (%i partitions)',
    (partitions) => {
      const ours = keyHashPartitioner()();
      const theirs = Partitioners.DefaultPartitioner();
      const partitionMetadata = metadata(partitions);
      // UUIDs (what the relay keys by), every remainder of length mod 4, bytes >= 0x80, UTF-8.
      const keys: (Buffer | string)[] = [Buffer.alloc(0), 'é', 'wf-ü-1', 'x'.repeat(37)];
      for (let i = 0; i < 2_000; i++) keys.push(Buffer.from(randomUUID()), randomBytes(i % 41));
      for (const key of keys) {
        const args = { topic: 't', partitionMetadata, message: { key, value: null } };
        expect(ours(args)).toBe(theirs(args));
      }
    },
  );

  it('keeps an explicit partition, and spreads keyless records over the partitions', () => {
    const p = keyHashPartitioner()();
    const partitionMetadata = metadata(3);
    expect(p({ topic: 't', partitionMetadata, message: { key: 'k', value: null, partition: 2 } })).toBe(2);
    const seen = new Set<number>();
    for (let i = 0; i < 9; i++) seen.add(p({ topic: 't', partitionMetadata, message: { value: null } }));
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });

  it('tells its counts the partition count of each topic, on every call', () => {
    const counts = new PartitionCounts();
    const p = keyHashPartitioner(counts)();
    expect(counts.of('raw')).toBeUndefined();
    p({ topic: 'raw', partitionMetadata: metadata(6), message: { key: 'k', value: null } });
    p({ topic: 'rej', partitionMetadata: metadata(2), message: { value: null } });
    expect([counts.of('raw'), counts.of('rej')]).toEqual([6, 2]);
    p({ topic: 'raw', partitionMetadata: metadata(12), message: { value: null, partition: 3 } });
    expect(counts.of('raw')).toBe(12);
  });
});
