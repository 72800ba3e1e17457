import type { KafkaMessage } from 'kafkajs';
import { openRecord } from '@parsl-usage/schemas';
import type { RawMessage } from './processor.js';

/**
 * A record of the raw topic in either format (schemas/src/envelope.ts): the datagram, and when
 * the relay received it (else the Kafka timestamp). A malformed envelope is passed on whole, and
 * the decoder rejects it with a reason (its first byte is never UTF-8).
 */
export function rawMessage(m: Pick<KafkaMessage, 'offset' | 'value' | 'headers' | 'timestamp'>): RawMessage {
  if (m.value === null) return { offset: m.offset, value: null, receivedAtMs: Number(m.timestamp) };
  const r = openRecord(m.value, m.headers);
  const at = r.kind === 'envelope' ? r.fields.receivedAtMs : r.kind === 'bare' ? r.receivedAtMs : undefined;
  return { offset: m.offset, value: r.datagram, receivedAtMs: at ?? Number(m.timestamp) };
}
