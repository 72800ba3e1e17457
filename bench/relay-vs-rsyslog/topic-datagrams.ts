// How many datagrams a range of a topic holds, counting each entry of a pack (format 3).
import type { Kafka } from 'kafkajs';
import { openRecords } from '@parsl-usage/schemas';

/** Each partition's end offset (the next offset to be written). */
export type PartitionEnds = Map<number, bigint>;

export async function partitionEnds(kafka: Kafka, topic: string): Promise<PartitionEnds> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * The datagrams in `topic` from `from` up to `to` (each partition's end offsets before and
 * after a trial): the records read back, a pack counting its entries. Read independently of the
 * forwarder under test, which packs, so its record count is not its datagram count.
 */
export async function datagramsBetween(
  kafka: Kafka,
  topic: string,
  from: PartitionEnds,
  to: PartitionEnds,
): Promise<number> {
  const pending = new Set([...to].filter(([p, end]) => end > (from.get(p) ?? 0n)).map(([p]) => p));
  if (pending.size === 0) return 0;
  const consumer = kafka.consumer({
    groupId: `count-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
  });
  await consumer.connect();
  let n = 0;
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const done = new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = to.get(batch.partition) ?? 0n;
            const start = from.get(batch.partition) ?? 0n;
            for (const m of batch.messages) {
              const o = BigInt(m.offset);
              if (o < start || o >= end || m.value === null) continue;
              n += openRecords(m.value, m.headers).length;
            }
            if (BigInt(batch.lastOffset()) + 1n >= end) pending.delete(batch.partition);
            if (pending.size === 0) resolve();
            await Promise.resolve();
          },
        })
        .catch(reject);
    });
    for (const [p, start] of from) consumer.seek({ topic, partition: p, offset: start.toString() });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`counting ${topic}: partitions ${[...pending].join(',')} not read in 60 s`)),
        60_000,
      ).unref(),
    );
    await Promise.race([done, timeout]);
    return n;
  } finally {
    await consumer.disconnect();
  }
}
