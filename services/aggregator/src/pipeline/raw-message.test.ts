import { describe, expect, it } from 'vitest';
import { envelopeWriter, packEnvelopes } from '@parsl-usage/schemas';
import { rawMessages } from './raw-message.js';

const datagram = Buffer.from('1{"correlator":"a\\\\b"}');
const AT = 1_790_000_000_123; // ms
const KAFKA_TS = '1790000009999'; // ms

function one(value: Buffer | null, headers = {}, offset = '7') {
  const out = rawMessages([{ offset, value, headers, timestamp: KAFKA_TS }]);
  expect(out).toHaveLength(1);
  return out[0];
}

describe('rawMessages: every format of the raw topic reads the same', () => {
  it.each([
    ['format 2 (envelope, no headers)', envelopeWriter('r-1').wrap(datagram, 'v1', AT, 'ab-0'), {}, AT],
    [
      'format 1 (headers)',
      datagram,
      { received_at_ms: Buffer.from(String(AT)), relay_seq: Buffer.from('ab-0') },
      AT,
    ],
    ['format 1 without received_at_ms: the Kafka timestamp', datagram, {}, Number(KAFKA_TS)],
    [
      'format 1 with a bad received_at_ms: the Kafka timestamp',
      datagram,
      { received_at_ms: Buffer.from('x') },
      Number(KAFKA_TS),
    ],
    [
      'format 3 (a pack of one)',
      packEnvelopes([envelopeWriter('r-1').wrap(datagram, 'v1', AT, 'ab-0')]),
      {},
      AT,
    ],
  ])('%s', (_what, value, headers, at) => {
    expect(one(value, headers)).toEqual({ offset: '7', index: 0, value: datagram, receivedAtMs: at });
  });

  it('a pack: one message per entry, in order, indexed from 0, each with its own time', () => {
    const w = envelopeWriter('r-1');
    const second = Buffer.from('{"uuid":"x"}');
    const pack = packEnvelopes([w.wrap(datagram, 'v1', AT, 'a-0'), w.wrap(second, 'legacy', AT + 5, 'a-1')]);
    const out = rawMessages([
      { offset: '3', value: datagram, headers: {}, timestamp: KAFKA_TS },
      { offset: '4', value: pack, headers: {}, timestamp: KAFKA_TS },
    ]);
    expect(out).toEqual([
      { offset: '3', index: 0, value: datagram, receivedAtMs: Number(KAFKA_TS) },
      { offset: '4', index: 0, value: datagram, receivedAtMs: AT },
      { offset: '4', index: 1, value: second, receivedAtMs: AT + 5 },
    ]);
  });

  it.each([
    ['cut short', Buffer.from([0xf5, 1, 1])],
    ['unknown version', Buffer.concat([Buffer.from([0xf5, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0]), datagram])],
    ['lengths past the end', Buffer.from([0xf5, 1, 1, 0, 0, 0, 0, 0, 0, 200, 0])],
    ['a pack cut short', Buffer.from([0xf5, 2, 2, 0, 9, 0, 0, 0])],
    ['a pack whose entry is no envelope', packEnvelopes([datagram])],
  ])('passes a malformed record on whole (%s), for the decoder to reject', (_what, value) => {
    expect(one(value, {}, '1')).toEqual({ offset: '1', index: 0, value, receivedAtMs: Number(KAFKA_TS) });
  });

  it('a tombstone stays null', () => {
    expect(one(null, {}, '2')?.value).toBeNull();
  });
});
