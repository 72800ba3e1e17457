// Accepted records packed several to a Kafka record (format 3, schemas/src/envelope.ts).
import type { Message } from 'kafkajs';
import { ENVELOPE_MARK, ENVELOPE_VERSION, PACK_MAX_ENTRIES, packEnvelopes } from '@parsl-usage/schemas';
import { partitionOfKey } from './partitioner.js';
import type { RelayRecord } from './records.js';

export interface PackLimits {
  /** entries a pack holds at most; 1 sends every datagram as its own record (format 2) */
  maxDatagrams: number;
  /** bytes of envelopes a pack holds at most (a single larger envelope still goes alone) */
  maxBytes: number;
}

function isEnvelope(r: RelayRecord): r is RelayRecord & { key: Buffer } {
  return r.key !== null && r.value.length > 1 && r.value[0] === ENVELOPE_MARK && r.value[1] === ENVELOPE_VERSION;
}

/**
 * The kafkajs messages for one topic's records, in their order per partition. Envelopes of the
 * raw topic go into packs by the partition their key hashes to, once the topic's partition
 * count is known; everything else (the rejected topic's records, the first send before any
 * metadata, a pack of one) goes as it is. A pack names its partition and has no key.
 */
export function packedMessages(
  records: readonly RelayRecord[],
  partitions: number | undefined,
  limits: PackLimits,
): Message[] {
  const maxEntries = Math.min(limits.maxDatagrams, PACK_MAX_ENTRIES);
  if (partitions === undefined || maxEntries <= 1) return records as RelayRecord[];
  const out: Message[] = [];
  const open = new Map<number, { envelopes: RelayRecord[]; bytes: number }>();
  const close = (p: number): void => {
    const pack = open.get(p);
    if (pack === undefined) return;
    open.delete(p);
    const [only] = pack.envelopes;
    if (pack.envelopes.length === 1 && only !== undefined) out.push(only);
    else out.push({ partition: p, key: null, value: packEnvelopes(pack.envelopes.map((r) => r.value)) });
  };
  for (const r of records) {
    if (!isEnvelope(r)) {
      // Nothing overtakes a datagram of its partition still waiting in an open pack.
      if (r.key === null) for (const p of [...open.keys()]) close(p);
      else close(partitionOfKey(r.key, partitions));
      out.push(r);
      continue;
    }
    const p = partitionOfKey(r.key, partitions);
    let pack = open.get(p);
    if (pack !== undefined && (pack.envelopes.length >= maxEntries || pack.bytes + r.value.length > limits.maxBytes)) {
      close(p);
      pack = undefined;
    }
    if (pack === undefined) open.set(p, (pack = { envelopes: [], bytes: 0 }));
    pack.envelopes.push(r);
    pack.bytes += r.value.length;
  }
  for (const p of [...open.keys()]) close(p);
  return out;
}
