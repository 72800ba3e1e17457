import { envelopeWriter, openRecord, relaySeqOf, sniff } from '@parsl-usage/schemas';
import { describe, expect, it } from 'vitest';
import { classify, type IntakeDeps } from './intake.js';
import { RateLimiter } from './rate-limit.js';
import { createSeqSource } from './records.js';

const deps = (over: Partial<IntakeDeps> = {}): IntakeDeps => ({
  sniff,
  limiter: new RateLimiter({ ratePerSec: 1, burst: 100, maxSources: 10 }),
  maxDatagramBytes: 64,
  ctx: {
    relayId: 'relay-1',
    envelope: envelopeWriter('relay-1'),
    nextSeq: createSeqSource('00ff'),
    rawTopic: 'raw',
    rejectedTopic: 'rej',
    rejectedMaxBytes: 8,
  },
  ...over,
});
const src = { address: '192.0.2.77' };
const NOW = 1_700_000_000_123;

describe('classify', () => {
  it.each([
    ['v1', '1{"correlator":"abc","parsl_v":"2024.1.1"}', 'abc'],
    ['legacy', '{"uuid":"u-1","test":false}', 'u-1'],
  ])(
    'accepts %s with key = id, exact bytes and metadata in the envelope, no headers',
    (protocol, text, id) => {
      const bytes = Buffer.from(text);
      const out = classify(deps(), bytes, src, NOW);
      expect(out.kind).toBe('accepted');
      if (out.kind !== 'accepted') return;
      expect(out.record).toMatchObject({ topic: 'raw', key: Buffer.from(id), headers: {} });
      expect(openRecord(out.record.value)).toEqual({
        kind: 'envelope',
        datagram: bytes,
        fields: { receivedAtMs: NOW, relayId: 'relay-1', protocol, relaySeq: '00ff-0' },
      });
    },
  );

  it.each([
    ['garbage', Buffer.from('hello world'), 'bad_prefix'],
    ['empty', Buffer.alloc(0), 'empty'],
    ['no id', Buffer.from('{"test":true}'), 'no_id'],
    ['bad utf-8', Buffer.from([0x7b, 0xff, 0x7d]), 'bad_utf8'],
    ['over the cap', Buffer.alloc(65, 0x7b), 'too_large'],
  ])('rejects %s to the rejected topic with reason %s, truncated', (_n, bytes, reason) => {
    const out = classify(deps(), bytes, src, NOW);
    expect(out.kind).toBe('rejected');
    if (out.kind !== 'rejected') return;
    expect(out.reason).toBe(reason);
    expect(out.record.topic).toBe('rej');
    expect(out.record.key).toBeNull();
    expect(out.record.value).toEqual(bytes.subarray(0, 8));
    expect(out.record.headers).toMatchObject({
      reason,
      received_at_ms: String(NOW),
      relay_id: 'relay-1',
    });
    expect(Object.keys(out.record.headers).sort()).toEqual([
      'detail',
      'reason',
      'received_at_ms',
      'relay_id',
      'relay_seq',
    ]);
    expect(JSON.stringify(out.record.headers)).not.toContain('192.0.2');
    expect(out.record.headers.detail?.length).toBeGreaterThan(0);
  });

  it('rate-limits before anything else, garbage included', () => {
    const d = deps({ limiter: new RateLimiter({ ratePerSec: 1, burst: 2, maxSources: 10 }) });
    const kinds = ['1{"correlator":"a"}', 'junk', '1{"correlator":"a"}'].map(
      (t) => classify(d, Buffer.from(t), src, NOW).kind,
    );
    expect(kinds).toEqual(['accepted', 'rejected', 'rate_limited']);
  });

  it('numbers every record it emits, accepted or rejected, uniquely', () => {
    const d = deps({ ctx: { ...deps().ctx, nextSeq: createSeqSource('ab') } });
    const seqs = ['1{"correlator":"a"}', 'junk', '{"uuid":"u"}', '1{"correlator":"a"}'].map((t) => {
      const out = classify(d, Buffer.from(t), src, NOW);
      return out.kind === 'rate_limited' ? undefined : relaySeqOf(out.record.value, out.record.headers);
    });
    expect(seqs).toEqual(['ab-0', 'ab-1', 'ab-2', 'ab-3']);
  });

  it('gives each boot its own random nonce, so a restarted relay never reuses a number', () => {
    const nonces = new Set(Array.from({ length: 100 }, () => createSeqSource()().split('-')[0]));
    expect(nonces.size).toBe(100);
    expect([...nonces].every((n) => /^[0-9a-f]{16}$/.test(n ?? ''))).toBe(true);
  });
});
