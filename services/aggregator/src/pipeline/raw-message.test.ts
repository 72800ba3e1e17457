import { describe, expect, it } from 'vitest';
import { envelopeWriter } from '@parsl-usage/schemas';
import { rawMessage } from './raw-message.js';

const datagram = Buffer.from('1{"correlator":"a\\\\b"}');
const AT = 1_790_000_000_123; // ms
const KAFKA_TS = '1790000009999'; // ms

describe('rawMessage: both formats of the raw topic read the same', () => {
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
  ])('%s', (_what, value, headers, at) => {
    expect(rawMessage({ offset: '7', value, headers, timestamp: KAFKA_TS })).toEqual({
      offset: '7',
      value: datagram,
      receivedAtMs: at,
    });
  });

  it.each([
    ['cut short', Buffer.from([0xf5, 1, 1])],
    ['unknown version', Buffer.concat([Buffer.from([0xf5, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0]), datagram])],
    ['lengths past the end', Buffer.from([0xf5, 1, 1, 0, 0, 0, 0, 0, 0, 200, 0])],
  ])('passes a malformed envelope on whole (%s), for the decoder to reject', (_what, value) => {
    expect(rawMessage({ offset: '1', value, headers: {}, timestamp: KAFKA_TS })).toEqual({
      offset: '1',
      value,
      receivedAtMs: Number(KAFKA_TS),
    });
  });

  it('a tombstone stays null', () => {
    expect(rawMessage({ offset: '2', value: null, headers: {}, timestamp: KAFKA_TS }).value).toBeNull();
  });
});
