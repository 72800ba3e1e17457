import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ENVELOPE_MARK,
  PACK_MAX_ENTRIES,
  envelopeWriter,
  isPack,
  openRecord,
  openRecords,
  packEnvelopes,
  relaySeqOf,
  relaySeqsOf,
} from './envelope.js';
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

describe('pack (format 3)', () => {
  const entry = fc.record({
    bytes: fc.uint8Array({ maxLength: 2_000 }),
    protocol: fc.constantFrom('v1' as const, 'legacy' as const),
    at: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
    seq: fc.string({ unit: fc.constantFrom(...'0123456789abcdef-'), minLength: 1, maxLength: 30 }),
  });

  it('opens every entry in order, byte for byte, with its own fields (property)', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 40 }), fc.string({ maxLength: 20 }), (entries, relayId) => {
        const w = envelopeWriter(relayId);
        const pack = packEnvelopes(entries.map((e) => w.wrap(Buffer.from(e.bytes), e.protocol, e.at, e.seq)));
        expect(isPack(pack)).toBe(true);
        const opened = openRecords(pack);
        expect(opened).toHaveLength(entries.length);
        opened.forEach((r, i) => {
          const e = entries[i]!;
          expect(r.kind).toBe('envelope');
          if (r.kind !== 'envelope') return;
          expect(r.datagram.equals(Buffer.from(e.bytes))).toBe(true);
          expect(r.fields.protocol).toBe(e.protocol);
          expect(r.fields.receivedAtMs).toBe(e.at);
          expect(r.fields.relaySeq).toBe(e.seq);
        });
        expect(relaySeqsOf(pack)).toEqual(entries.map((e) => e.seq));
      }),
    );
  });

  it('any cut or extended pack is one malformed entry holding the whole value (property)', () => {
    const w = envelopeWriter('r');
    const pack = packEnvelopes([w.wrap(Buffer.from('1{"a":1}'), 'v1', 1, 's-0'), w.wrap(Buffer.from('{}'), 'legacy', 2, 's-1')]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: pack.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 8 }), (cut, tail) => {
        for (const bad of [pack.subarray(0, cut), Buffer.concat([pack, Buffer.from(tail)])]) {
          const opened = openRecords(bad);
          if (!isPack(bad)) continue; // cut before the version byte: a format-1/2 reading of it
          expect(opened).toHaveLength(1);
          expect(opened[0]?.kind).toBe('malformed');
          expect(opened[0]?.datagram).toBe(bad);
          expect(relaySeqsOf(bad)).toEqual([]);
        }
      }),
    );
  });

  it.each([
    ['a format-2 record', () => envelopeWriter('r').wrap(Buffer.from('1{}'), 'v1', 5, 'n-1'), ['n-1']],
    ['a pack entry that is not an envelope', () => packEnvelopes([Buffer.from('1{}')]), []],
    ['no value', () => null, []],
  ])('relaySeqsOf: %s', (_what, value, seqs) => {
    expect(relaySeqsOf(value())).toEqual(seqs);
  });

  it('a rejected record whose value looks like a pack: its header wins', () => {
    const pack = packEnvelopes([envelopeWriter('r').wrap(Buffer.from('x'), 'v1', 1, 'fake')]);
    expect(relaySeqsOf(pack, { relay_seq: 'n-9' })).toEqual(['n-9']);
  });

  it('refuses an empty pack and one past the entry limit', () => {
    expect(() => packEnvelopes([])).toThrow(RangeError);
    expect(() => packEnvelopes(new Array<Buffer>(PACK_MAX_ENTRIES + 1).fill(Buffer.alloc(0)))).toThrow(RangeError);
  });
});
