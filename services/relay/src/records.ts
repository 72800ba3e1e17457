// The Kafka records the relay writes (accepted, rejected) and their unique relay_seq.
import { randomBytes } from 'node:crypto';
import type { EnvelopeWriter, RejectReason, SniffOutcome } from '@parsl-usage/schemas';

/** The signature of `sniff` from @parsl-usage/schemas, injected so tests can substitute it. */
export type Sniff = (bytes: Buffer) => SniffOutcome;

/** One Kafka message, as the relay publishes it and as the spool stores it. */
// Accepted records carry their metadata in the value's envelope, and no headers: one shared
// empty object, never written to.
const NO_HEADERS: Record<string, string> = Object.freeze({});

export interface RelayRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, string>;
}

/**
 * Header naming each record uniquely: a random per-boot nonce and a counter. After a publish
 * whose outcome is unknown (a timeout, a lost connection, a partial failure), the replayer
 * reads the topic back and skips the spooled records whose `relay_seq` is already there, so
 * an outage leaves each datagram in Kafka exactly once. The nonce is random rather than the
 * instance id because a restarted relay often has the same id (same host, pid 1).
 */
export const RELAY_SEQ_HEADER = 'relay_seq';

/** Hands out `relay_seq` values: `<16 hex digits of nonce>-<counter in base 36>`. */
export function createSeqSource(nonce = randomBytes(8).toString('hex')): () => string {
  let n = 0;
  return () => `${nonce}-${(n++).toString(36)}`;
}

export interface RecordContext {
  relayId: string;
  /** encodes an accepted record's value (schemas/src/envelope.ts), with relayId built in */
  envelope: EnvelopeWriter;
  nextSeq: () => string;
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
    // The datagram exactly as received, behind the envelope: the aggregator owns decoding,
    // and a decoder fix can be replayed.
    value: ctx.envelope.wrap(bytes, sniffed.protocol, receivedAtMs, ctx.nextSeq()),
    headers: NO_HEADERS,
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
      [RELAY_SEQ_HEADER]: ctx.nextSeq(),
    },
  };
}
