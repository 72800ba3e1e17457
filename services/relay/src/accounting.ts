/**
 * Where every datagram is, at any moment. Each one the socket hands over is classified once
 * (accepted, rejected or rate-limited), and each accepted or rejected record ends in exactly
 * one place: published, dropped (by reason), or still held (in memory or in the spool).
 * Records an earlier run left in the spool enter through `recovered`. Hence:
 *
 *   received = accepted + rejected + rateLimited
 *   received + recovered = rateLimited + published + dropped + inFlight + spoolMessages
 *
 * Both hold exactly, because every move between places is one synchronous step.
 */
export interface Accounting {
  received: number;
  accepted: number;
  /** Summed over reasons. */
  rejected: number;
  rateLimited: number;
  recovered: number;
  /** Summed over topics (raw and rejected). */
  published: number;
  /** Summed over reasons. */
  dropped: number;
  /** In the batcher or being delivered. */
  inFlight: number;
  spoolMessages: number;
}

export type IdentityCheck = { kind: 'holds' } | { kind: 'broken'; intakeGap: number; deliveryGap: number };

export function checkIdentity(a: Accounting): IdentityCheck {
  const intakeGap = a.received - (a.accepted + a.rejected + a.rateLimited);
  const deliveryGap =
    a.received + a.recovered - (a.rateLimited + a.published + a.dropped + a.inFlight + a.spoolMessages);
  return intakeGap === 0 && deliveryGap === 0
    ? { kind: 'holds' }
    : { kind: 'broken', intakeGap, deliveryGap };
}
