import type { KafkaMessage } from 'kafkajs';
import { openRecords } from '@parsl-usage/schemas';
import type { RawMessage } from './processor.js';

type Record = Pick<KafkaMessage, 'offset' | 'value' | 'headers' | 'timestamp'>;

/**
 * The datagrams of a record of the raw topic in any format (schemas/src/envelope.ts), each with
 * its index in the record and when the relay received it (else the Kafka timestamp), appended
 * to `out`. A malformed envelope or pack is passed on whole as index 0, and the decoder rejects
 * it with a reason (its first byte is never UTF-8).
 */
export function appendRawMessages(m: Record, out: RawMessage[]): void {
  if (m.value === null) {
    out.push({ offset: m.offset, index: 0, value: null, receivedAtMs: Number(m.timestamp) });
    return;
  }
  const opened = openRecords(m.value, m.headers);
  for (let index = 0; index < opened.length; index++) {
    const r = opened[index];
    if (r === undefined) continue;
    const at = r.kind === 'envelope' ? r.fields.receivedAtMs : r.kind === 'bare' ? r.receivedAtMs : undefined;
    out.push({ offset: m.offset, index, value: r.datagram, receivedAtMs: at ?? Number(m.timestamp) });
  }
}

/** The datagrams of a batch's records, in order. */
export function rawMessages(records: readonly Record[]): RawMessage[] {
  const out: RawMessage[] = [];
  for (const m of records) appendRawMessages(m, out);
  return out;
}
