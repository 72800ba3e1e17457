import { isIPv4, isIPv6 } from 'node:net';
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
  sourceAddress: string,
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
      source: sourcePrefix(sourceAddress),
    },
  };
}

/**
 * The `source` header holds the sender's network prefix (/24 for IPv4, /48 for IPv6), never
 * the full address or the port. Usage statistics are anonymous; a prefix is enough to see
 * that garbage comes from one site, and it is not an identifier of a person's machine.
 */
export function sourcePrefix(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const v4 = mapped?.[1] ?? address;
  if (isIPv4(v4)) {
    const [a, b, c] = v4.split('.');
    return `${a}.${b}.${c}.0/24`;
  }
  if (isIPv6(address)) {
    const groups = expandIPv6(address.replace(/%.*$/, ''));
    return `${groups.slice(0, 3).join(':')}::/48`;
  }
  return 'unknown';
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array.from({ length: Math.max(0, 8 - h.length - t.length) }, () => '0');
  return [...h, ...zeros, ...t].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''));
}
