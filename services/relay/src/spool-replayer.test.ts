import { envelopeWriter, relaySeqOf } from '@parsl-usage/schemas';
import { describe, expect, it } from 'vitest';
import type { SpooledRecord } from './spool.js';
import { markFound, markUncertain, queriesByTopic, splitChunk } from './spool-replayer.js';

const envelope = envelopeWriter('relay-a');

/** An accepted record (relay_seq in the envelope), in doubt since `doubt` if given. */
function raw(seq: string, doubt?: number): SpooledRecord {
  const r: SpooledRecord = {
    topic: 'raw',
    key: Buffer.from('wf'),
    value: envelope.wrap(Buffer.from('1{}'), 'v1', 1_767_225_600_000, seq),
    headers: {},
  };
  if (doubt !== undefined) r.doubtSinceMs = doubt;
  return r;
}

/** A rejected record (relay_seq in a header). */
function rejected(seq: string, doubt?: number): SpooledRecord {
  const r: SpooledRecord = {
    topic: 'rejected',
    key: null,
    value: Buffer.from('?'),
    headers: { relay_seq: seq },
  };
  if (doubt !== undefined) r.doubtSinceMs = doubt;
  return r;
}

/** Spooled by a relay version before relay_seq: nothing to look it up by. */
function unnumbered(doubt?: number): SpooledRecord {
  const r: SpooledRecord = { topic: 'raw', key: null, value: Buffer.from('1{}'), headers: {} };
  if (doubt !== undefined) r.doubtSinceMs = doubt;
  return r;
}

const asObject = (m: ReturnType<typeof queriesByTopic>) =>
  Object.fromEntries(
    [...m].map(([topic, q]) => [topic, { sinceMs: q.sinceMs, wanted: [...q.wanted].sort() }]),
  );

describe('queriesByTopic', () => {
  it.each([
    ['no record in doubt', [raw('a'), rejected('b')], 0, {}],
    [
      'per topic, since the oldest attempt among its records',
      [raw('a', 300), raw('b', 100), rejected('c', 200), raw('d')],
      0,
      { raw: { sinceMs: 100, wanted: ['a', 'b'] }, rejected: { sinceMs: 200, wanted: ['c'] } },
    ],
    [
      'only from `from` on: records before it were published this run',
      [raw('a', 50), raw('b', 100), raw('c', 150)],
      1,
      { raw: { sinceMs: 100, wanted: ['b', 'c'] } },
    ],
    [
      'records without relay_seq are left out',
      [unnumbered(10), raw('a', 20)],
      0,
      { raw: { sinceMs: 20, wanted: ['a'] } },
    ],
    ['only records without relay_seq', [unnumbered(10), unnumbered(20)], 0, {}],
    ['`from` past the end', [raw('a', 1)], 1, {}],
  ])('%s', (_, records, from, want) => {
    expect(asObject(queriesByTopic(records, from))).toEqual(want);
  });
});

describe('markFound', () => {
  it('marks what the topic holds, clears every doubt from `from` on, and counts the hits', () => {
    const records = [raw('a', 1), raw('b', 1), rejected('c', 1), rejected('d', 1), raw('e'), unnumbered(1)];
    const present = new Uint8Array(records.length);
    // 'c' was found in the raw topic only: a rejected record is looked for in its own topic.
    const found = new Map([
      ['raw', new Set(['b', 'c', 'e'])],
      ['rejected', new Set(['d'])],
    ]);
    expect(markFound(records, 0, found, present)).toBe(2);
    expect([...present]).toEqual([0, 1, 0, 1, 0, 0]);
    // 'e' was never in doubt (published in this run), so it is not counted although found.
    expect(records.map((r) => r.doubtSinceMs)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('leaves the records before `from` as they are', () => {
    const records = [raw('a', 7), raw('b', 8)];
    const present = new Uint8Array(2);
    expect(markFound(records, 1, new Map([['raw', new Set(['a', 'b'])]]), present)).toBe(1);
    expect([...present]).toEqual([0, 1]);
    expect(records.map((r) => r.doubtSinceMs)).toEqual([7, undefined]);
  });

  it('finds nothing when a topic was not read back', () => {
    const records = [raw('a', 1)];
    const present = new Uint8Array(1);
    expect(markFound(records, 0, new Map(), present)).toBe(0);
    expect([...present]).toEqual([0]);
    expect(records[0]?.doubtSinceMs).toBeUndefined();
  });
});

describe('splitChunk', () => {
  const records = [raw('a'), raw('b'), raw('c'), raw('d'), raw('e')];
  const seqs = (rs: SpooledRecord[]) => rs.map((r) => relaySeqOf(r.value, r.headers));

  it.each([
    ['nothing found: all sent', 0, 5, [0, 0, 0, 0, 0], ['a', 'b', 'c', 'd', 'e'], []],
    ['found records are skipped', 0, 5, [0, 1, 0, 1, 1], ['a', 'c'], ['b', 'd', 'e']],
    ['only [from, end)', 1, 3, [1, 1, 0, 0, 1], ['c'], ['b']],
    ['an empty chunk', 2, 2, [1, 1, 1, 1, 1], [], []],
    ['all found', 3, 5, [0, 0, 0, 1, 1], [], ['d', 'e']],
  ])('%s', (_, from, end, marks, send, skipped) => {
    const split = splitChunk(records, from, end, Uint8Array.from(marks));
    expect({ send: seqs(split.send), skipped: seqs(split.skipped) }).toEqual({ send, skipped });
  });

  it('keeps the records themselves, in order', () => {
    const split = splitChunk(records, 0, 5, new Uint8Array(5));
    expect(split.send).toEqual(records);
    expect(split.send[0]).toBe(records[0]);
  });
});

describe('markUncertain', () => {
  it.each([
    ['a record in no doubt yet: since this attempt', undefined, 500, 500],
    ['an earlier doubt stays: the first attempt may land last', 200, 500, 200],
    ['a later doubt (a clock stepped back) moves back', 900, 500, 500],
  ])('%s', (_, before, attempt, after) => {
    const r = raw('a', before);
    markUncertain([r], attempt);
    expect(r.doubtSinceMs).toBe(after);
  });

  it('marks every record of the chunk', () => {
    const chunk = [raw('a'), rejected('b', 10), unnumbered()];
    markUncertain(chunk, 20);
    expect(chunk.map((r) => r.doubtSinceMs)).toEqual([20, 10, 20]);
  });
});
