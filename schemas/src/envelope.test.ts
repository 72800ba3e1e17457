import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENVELOPE_MARK, envelopeWriter, openRecord, relaySeqOf } from './envelope.js';
import { sniff } from './sniff.js';

describe('envelope', () => {
  it('round-trips every field and the datagram byte for byte (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 9_000 }),
        fc.constantFrom('v1' as const, 'legacy' as const),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.string({ unit: fc.constantFrom(...'0123456789abcdefz-'), maxLength: 40 }),
        fc.string({ maxLength: 80 }),
        (bytes, protocol, receivedAtMs, relaySeq, relayId) => {
          const datagram = Buffer.from(bytes);
          const opened = openRecord(envelopeWriter(relayId).wrap(datagram, protocol, receivedAtMs, relaySeq));
          expect(opened.kind).toBe('envelope');
          if (opened.kind !== 'envelope') return;
          expect(opened.datagram.equals(datagram)).toBe(true);
          expect(opened.fields).toEqual({
            protocol,
            receivedAtMs,
            relaySeq,
            relayId: Buffer.from(relayId, 'utf8').toString('utf8'),
          });
        },
      ),
    );
  });

  it('truncates a relay id past 255 bytes on a character boundary', () => {
    const id = 'é'.repeat(200); // 400 bytes
    const opened = openRecord(envelopeWriter(id).wrap(Buffer.from('1{}'), 'v1', 1, 's'));
    expect(opened.kind === 'envelope' && opened.fields.relayId).toBe('é'.repeat(127));
  });

  it('no datagram the relay accepts begins with the envelope mark (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (tail) => {
        const bytes = Buffer.concat([Buffer.from([ENVELOPE_MARK]), Buffer.from(tail)]);
        expect(sniff(bytes).kind).toBe('rejected');
      }),
    );
  });

  it.each([
    // [what, value, headers, relay_seq found]
    ['envelope', envelopeWriter('r').wrap(Buffer.from('1{}'), 'v1', 5, 'n-1'), undefined, 'n-1'],
    ['format 1 header', Buffer.from('1{}'), { relay_seq: Buffer.from('n-2') }, 'n-2'],
    [
      'a rejected record whose value looks like an envelope: the header wins',
      envelopeWriter('r').wrap(Buffer.from('x'), 'v1', 5, 'fake'),
      { relay_seq: 'n-3' },
      'n-3',
    ],
    ['no seq anywhere', Buffer.from('1{}'), undefined, undefined],
    ['null value, header', null, { relay_seq: 'n-4' }, 'n-4'],
  ])('relaySeqOf: %s', (_what, value, headers, seq) => {
    expect(relaySeqOf(value, headers)).toBe(seq);
  });
});
