import { describe, expect, it } from 'vitest';
import { checkIdentity, type Accounting } from './accounting.js';

const base: Accounting = {
  received: 100,
  accepted: 70,
  rejected: 20,
  rateLimited: 10,
  recovered: 5,
  published: 60,
  dropped: 7,
  inFlight: 3,
  spoolMessages: 25,
};

describe('checkIdentity', () => {
  it.each<[string, Partial<Accounting>, ReturnType<typeof checkIdentity>]>([
    ['everything accounted for', {}, { kind: 'holds' }],
    ['nothing yet', { ...Object.fromEntries(Object.keys(base).map((k) => [k, 0])) }, { kind: 'holds' }],
    ['one datagram never classified', { received: 101 }, { kind: 'broken', intakeGap: 1, deliveryGap: 1 }],
    ['one published twice', { published: 61 }, { kind: 'broken', intakeGap: 0, deliveryGap: -1 }],
    ['one lost without a count', { spoolMessages: 24 }, { kind: 'broken', intakeGap: 0, deliveryGap: 1 }],
    ['recovered from an earlier run', { recovered: 6, spoolMessages: 26 }, { kind: 'holds' }],
  ])('%s', (_name, over, expected) => {
    expect(checkIdentity({ ...base, ...over })).toEqual(expected);
  });
});
