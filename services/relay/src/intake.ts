// One datagram's fate, decided synchronously: rate-limited, accepted or rejected.
import type { RateLimiter } from './rate-limit.js';
import {
  acceptedRecord,
  rejectedRecord,
  type RecordContext,
  type RelayRecord,
  type Sniff,
} from './records.js';

export interface IntakeDeps {
  sniff: Sniff;
  limiter: RateLimiter;
  maxDatagramBytes: number;
  ctx: RecordContext;
}

export type IntakeOutcome =
  | { kind: 'accepted'; record: RelayRecord }
  | { kind: 'rejected'; reason: string; record: RelayRecord }
  | { kind: 'rate_limited' };

/**
 * What to do with one datagram. The rate limit comes first: it is the cheapest check, and a
 * flood of garbage must not reach the rejected topic any more than a flood of valid-looking
 * datagrams may reach the raw one.
 *
 * The source address is used for the rate limit only and never copied into a record: usage
 * statistics are anonymous, and even a network prefix is part of an address.
 */
export function classify(
  deps: IntakeDeps,
  bytes: Buffer,
  source: { address: string },
  nowMs: number,
): IntakeOutcome {
  if (!deps.limiter.tryTake(source.address, nowMs)) return { kind: 'rate_limited' };
  if (bytes.length > deps.maxDatagramBytes) {
    const rejection = {
      reason: 'too_large' as const,
      detail: `${bytes.length} bytes > ${deps.maxDatagramBytes}`,
    };
    return {
      kind: 'rejected',
      reason: rejection.reason,
      record: rejectedRecord(deps.ctx, bytes, rejection, nowMs),
    };
  }
  const sniffed = deps.sniff(bytes);
  if (sniffed.kind === 'rejected') {
    return {
      kind: 'rejected',
      reason: sniffed.reason,
      record: rejectedRecord(deps.ctx, bytes, sniffed, nowMs),
    };
  }
  return { kind: 'accepted', record: acceptedRecord(deps.ctx, bytes, sniffed, nowMs) };
}
