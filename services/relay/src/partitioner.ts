// Kafka's key-hash partitioner in 32-bit arithmetic (the same partitions as kafkajs's).
import { Partitioners, type ICustomPartitioner } from 'kafkajs';

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`, which kafkajs's DefaultPartitioner
 * reproduces) in 32-bit integer arithmetic. kafkajs computes it with 64-bit `Long` objects,
 * about 4 us per key on the bench machine, a tenth of the relay's CPU per datagram; every
 * step only ever needs the low 32 bits, which Math.imul and the shifts give exactly.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  const length4 = length & ~3;
  let h = 0x9747b28c ^ length;
  for (let i = 0; i < length4; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= data[length4 + 2]! << 16;
  if (rest >= 2) h ^= data[length4 + 1]! << 8;
  if (rest >= 1) h = Math.imul(h ^ data[length4]!, m);
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h;
}

/** The partition kafkajs's DefaultPartitioner gives `key` among `partitions`. */
export function partitionOfKey(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

/**
 * The partition counts kafkajs last showed the partitioner, by topic. A pack must hold only
 * datagrams of one partition (launch and closure of a run meet there), and kafkajs shows no
 * metadata to its producer's callers: the partitioner sees it on every send.
 */
export class PartitionCounts {
  private readonly counts = new Map<string, number>();

  seen(topic: string, partitions: number): void {
    if (partitions > 0) this.counts.set(topic, partitions);
  }

  of(topic: string): number | undefined {
    return this.counts.get(topic);
  }
}

/**
 * The partition kafkajs's DefaultPartitioner would choose, for the same key and partition
 * count, so records land exactly where they did before (and where a Java producer would put
 * them); keyless records (the rejected topic) are left to that partitioner's round robin, and
 * a record that names its partition (a pack) goes there. Every call tells `counts` the topic's
 * partition count.
 */
export function keyHashPartitioner(counts?: PartitionCounts): ICustomPartitioner {
  return () => {
    const fallback = Partitioners.DefaultPartitioner();
    return (args) => {
      const { topic, message, partitionMetadata } = args;
      counts?.seen(topic, partitionMetadata.length);
      if (message.partition !== null && message.partition !== undefined) return message.partition;
      const key = message.key;
      if (key === null || key === undefined) return fallback(args);
      const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
      return partitionOfKey(bytes, partitionMetadata.length);
    };
  };
}
