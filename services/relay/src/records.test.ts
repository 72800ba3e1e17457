import { envelopeWriter, openRecord, relaySeqOf, type RejectReason } from '@parsl-usage/schemas';
import { describe, expect, it } from 'vitest';
import {
  acceptedRecord,
  createSeqSource,
  rejectedRecord,
  RELAY_SEQ_HEADER,
  type RecordContext,
} from './records.js';

const RECEIVED_AT_MS = 1_767_225_600_123;

function context(over: Partial<RecordContext> = {}): RecordContext {
  return {
    relayId: 'relay-a',
    envelope: envelopeWriter('relay-a'),
    nextSeq: createSeqSource('00112233aabbccdd'),
    rawTopic: 'parsl.usage.raw',
    rejectedTopic: 'parsl.usage.rejected',
    rejectedMaxBytes: 8,
    ...over,
  };
}

describe('createSeqSource', () => {
  it('numbers records <nonce>-<counter in base 36>, from 0', () => {
    const next = createSeqSource('00112233aabbccdd');
    const seqs = Array.from({ length: 37 }, () => next());
    expect(seqs.slice(0, 3)).toEqual(['00112233aabbccdd-0', '00112233aabbccdd-1', '00112233aabbccdd-2']);
    expect(seqs[10]).toBe('00112233aabbccdd-a');
    expect(seqs[35]).toBe('00112233aabbccdd-z');
    expect(seqs[36]).toBe('00112233aabbccdd-10');
  });

  it('draws a fresh 64-bit nonce per source: two boots never share a relay_seq', () => {
    const a = createSeqSource();
    const b = createSeqSource();
    const [na, nb] = [a(), b()];
    expect(na).toMatch(/^[0-9a-f]{16}-0$/);
    expect(nb).toMatch(/^[0-9a-f]{16}-0$/);
    expect(na).not.toBe(nb);
  });

  it('keeps its own count per source', () => {
    const a = createSeqSource('n');
    const b = createSeqSource('n');
    a();
    a();
    expect([a(), b()]).toEqual(['n-2', 'n-0']);
  });
});

describe('acceptedRecord', () => {
  it.each([
    ['v1', 'wf-1', Buffer.from('1{"correlator":"wf-1"}')],
    ['legacy', 'ü-id', Buffer.from('{"uuid":"ü-id","test":false}')],
    ['v1', 'empty', Buffer.alloc(0)],
  ] as const)(
    '%s %s: raw topic, keyed by the id, the datagram behind the envelope',
    (protocol, id, bytes) => {
      const r = acceptedRecord(context(), bytes, { protocol, id }, RECEIVED_AT_MS);
      expect(r.topic).toBe('parsl.usage.raw');
      expect(r.key).toEqual(Buffer.from(id, 'utf8'));
      expect(r.headers).toEqual({});
      const opened = openRecord(r.value);
      expect(opened).toEqual({
        kind: 'envelope',
        datagram: bytes,
        fields: {
          protocol,
          receivedAtMs: RECEIVED_AT_MS,
          relaySeq: '00112233aabbccdd-0',
          relayId: 'relay-a',
        },
      });
    },
  );

  it('takes one relay_seq per record, in order', () => {
    const ctx = context();
    const seqs = [0, 1, 2].map((i) =>
      relaySeqOf(
        acceptedRecord(ctx, Buffer.from(`d${i}`), { protocol: 'v1', id: `w${i}` }, RECEIVED_AT_MS).value,
      ),
    );
    expect(seqs).toEqual(['00112233aabbccdd-0', '00112233aabbccdd-1', '00112233aabbccdd-2']);
  });

  it('shares one frozen empty headers object: nothing can be added to it', () => {
    const ctx = context();
    const a = acceptedRecord(ctx, Buffer.from('x'), { protocol: 'v1', id: 'a' }, RECEIVED_AT_MS);
    const b = acceptedRecord(ctx, Buffer.from('y'), { protocol: 'v1', id: 'b' }, RECEIVED_AT_MS);
    expect(a.headers).toBe(b.headers);
    expect(Object.isFrozen(a.headers)).toBe(true);
  });
});

describe('rejectedRecord', () => {
  const reject = (bytes: Buffer, reason: RejectReason, detail: string, ctx = context()) =>
    rejectedRecord(ctx, bytes, { reason, detail }, RECEIVED_AT_MS);

  it.each([
    // bytes, max bytes kept, value kept
    ['shorter than the limit', 'abc', 8, 'abc'],
    ['exactly the limit', '12345678', 8, '12345678'],
    ['longer than the limit', '123456789abc', 8, '12345678'],
    ['limit 0', 'abc', 0, ''],
  ])('%s: keeps the first bytes only', (_, text, max, kept) => {
    const r = reject(Buffer.from(text), 'bad_json', 'x', context({ rejectedMaxBytes: max }));
    expect(r.value.toString()).toBe(kept);
  });

  it('copies the kept bytes, so the record does not pin the receive buffer', () => {
    const received = Buffer.from('0123456789');
    const r = reject(received, 'bad_prefix', 'x');
    received.fill(0);
    expect(r.value.toString()).toBe('01234567');
  });

  it('goes to the rejected topic without a key, its metadata in headers', () => {
    const r = reject(Buffer.from('garbage'), 'bad_utf8', 'byte 3');
    expect(r.topic).toBe('parsl.usage.rejected');
    expect(r.key).toBeNull();
    expect(r.headers).toEqual({
      reason: 'bad_utf8',
      detail: 'byte 3',
      received_at_ms: String(RECEIVED_AT_MS),
      relay_id: 'relay-a',
      [RELAY_SEQ_HEADER]: '00112233aabbccdd-0',
    });
    expect(relaySeqOf(r.value, r.headers)).toBe('00112233aabbccdd-0');
  });

  it.each([
    [0, 0],
    [256, 256],
    [257, 256],
    [10_000, 256],
  ])('a detail of %i chars is cut to %i', (chars, kept) => {
    const r = reject(Buffer.from('x'), 'bad_field', 'd'.repeat(chars));
    expect(r.headers.detail).toHaveLength(kept);
  });

  it('draws from the same relay_seq counter as accepted records', () => {
    const ctx = context();
    acceptedRecord(ctx, Buffer.from('x'), { protocol: 'v1', id: 'a' }, RECEIVED_AT_MS);
    expect(reject(Buffer.from('y'), 'empty', '', ctx).headers[RELAY_SEQ_HEADER]).toBe('00112233aabbccdd-1');
  });
});
