import type { RejectReason, SniffOutcome } from '@parsl-usage/schemas';

/** The signature of `sniff` from @parsl-usage/schemas, injected so tests can substitute it. */
export type Sniff = (bytes: Buffer) => SniffOutcome;

/** One Kafka message, as the relay publishes it and as the spool stores it. */
export interface RelayRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}

export interface RecordContext {
  relayId: string;
  rawTopic: string;
  rejectedTopic: string;
  rejectedMaxBytes: number;
}

const DETAIL_MAX_CHARS = 256;

export function acceptedRecord(
  ctx: RecordContext,
  bytes: Buffer,
  sniffed: { protocol: 'v1' | 'legacy'; id: string },
  receivedAtMs: number,
): RelayRecord {
  return {
    topic: ctx.rawTopic,
    key: Buffer.from(sniffed.id, 'utf8'),
    // Exactly as received: the aggregator owns decoding, and a decoder fix can be replayed.
    value: bytes,
    headers: { received_at_ms: String(receivedAtMs), relay_id: ctx.relayId, protocol: sniffed.protocol },
  };
}

export function rejectedRecord(
  ctx: RecordContext,
  bytes: Buffer,
  rejection: { reason: RejectReason; detail: string },
  receivedAtMs: number,
): RelayRecord {
  return {
    topic: ctx.rejectedTopic,
    key: null,
    // Copy so a truncated view does not pin the whole receive buffer.
    value: Buffer.from(bytes.subarray(0, ctx.rejectedMaxBytes)),
    headers: {
      reason: rejection.reason,
      detail: rejection.detail.slice(0, DETAIL_MAX_CHARS),
      received_at_ms: String(receivedAtMs),
      relay_id: ctx.relayId,
    },
  };
}
