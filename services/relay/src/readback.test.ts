import { envelopeWriter } from '@parsl-usage/schemas';
import { describe, expect, it } from 'vitest';
import { rangesToRead, scanBatch, type OffsetRange } from './readback.js';

describe('rangesToRead', () => {
  const ends = (...p: [number, string, string][]) =>
    p.map(([partition, low, high]) => ({ partition, low, high }));
  const starts = (...p: [number, string][]) => p.map(([partition, offset]) => ({ partition, offset }));
  const asObject = (m: Map<number, OffsetRange>) =>
    Object.fromEntries([...m].map(([p, r]) => [p, [r.from.toString(), r.end.toString()]]));

  it.each([
    ['from the offset by time to the end', ends([0, '0', '100']), starts([0, '40']), { 0: ['40', '100'] }],
    ['no offset by time: from the low water mark', ends([0, '5', '100']), starts(), { 0: ['5', '100'] }],
    // Retention deleted the start of the range: read what is left.
    [
      'the offset by time below the low water mark',
      ends([0, '50', '100']),
      starts([0, '10']),
      { 0: ['50', '100'] },
    ],
    // The broker answers high (the next offset) when nothing is as new as the time.
    ['nothing since the time', ends([0, '0', '100']), starts([0, '100']), {}],
    ['an empty partition', ends([0, '7', '7']), starts([0, '7']), {}],
    [
      'several partitions, each on its own',
      ends([0, '0', '10'], [1, '0', '20'], [2, '3', '3']),
      starts([1, '15'], [0, '2'], [2, '3']),
      { 0: ['2', '10'], 1: ['15', '20'] },
    ],
    ['no partitions', ends(), starts(), {}],
    [
      'int64 offsets beyond 2^53',
      ends([0, '9007199254740993', '9007199254740999']),
      starts([0, '9007199254740995']),
      { 0: ['9007199254740995', '9007199254740999'] },
    ],
  ])('%s', (_, e, s, want) => {
    expect(asObject(rangesToRead(e, s))).toEqual(want);
  });
});

describe('scanBatch', () => {
  const envelope = envelopeWriter('relay-a');
  /** A raw-topic record of format 2 (relay_seq in the envelope). */
  const accepted = (offset: number, seq: string) => ({
    offset: String(offset),
    value: envelope.wrap(Buffer.from('1{}'), 'v1', 1_767_225_600_000, seq),
  });
  /** A rejected-topic record, or one of format 1: relay_seq in a header. */
  const headed = (offset: number, seq: string) => ({
    offset: String(offset),
    value: Buffer.from('garbage'),
    headers: { relay_seq: Buffer.from(seq) },
  });
  /** Another producer's record: nothing to match on. */
  const foreign = (offset: number) => ({ offset: String(offset), value: Buffer.from('x') });
  const tombstone = (offset: number) => ({ offset: String(offset), value: null });

  type Message = Parameters<typeof scanBatch>[0]['messages'][number];
  const batch = (messages: Message[], lastOffset: number) => ({
    messages,
    lastOffset: () => String(lastOffset),
  });

  it.each([
    [
      'finds wanted values in either format, ignores the rest',
      batch([accepted(10, 'n-1'), headed(11, 'n-2'), accepted(12, 'n-3'), foreign(13), tombstone(14)], 14),
      { from: 10n, end: 100n },
      ['n-1', 'n-2', 'other'],
      { read: 5, done: false, found: ['n-1', 'n-2'] },
    ],
    [
      'stops at the end of the range: later records were appended after it was taken',
      batch([accepted(8, 'n-1'), accepted(9, 'n-2'), accepted(10, 'n-3')], 10),
      { from: 8n, end: 10n },
      ['n-1', 'n-2', 'n-3'],
      { read: 2, done: true, found: ['n-1', 'n-2'] },
    ],
    [
      'a batch ending just before the end leaves the partition open',
      batch([accepted(8, 'n-1')], 8),
      { from: 8n, end: 10n },
      ['n-1'],
      { read: 1, done: false, found: ['n-1'] },
    ],
    [
      'a batch ending at the last offset of the range is done',
      batch([headed(9, 'n-9')], 9),
      { from: 0n, end: 10n },
      [],
      { read: 1, done: true, found: [] },
    ],
    // Compaction or transaction markers: the batch's last offset is past its last message.
    [
      'done by the last offset even when its messages stop short',
      batch([accepted(5, 'n-5')], 12),
      { from: 0n, end: 10n },
      ['n-5'],
      { read: 1, done: true, found: ['n-5'] },
    ],
    ['an empty batch', batch([], 3), { from: 0n, end: 10n }, ['n-1'], { read: 0, done: false, found: [] }],
  ])('%s', (_, b, range, wanted, want) => {
    const found = new Set<string>();
    const { read, done } = scanBatch(b, range, new Set(wanted), found);
    expect({ read, done, found: [...found].sort() }).toEqual(want);
  });

  it('adds to what earlier batches found', () => {
    const found = new Set(['n-0']);
    scanBatch(batch([accepted(1, 'n-1')], 1), { from: 0n, end: 5n }, new Set(['n-0', 'n-1']), found);
    expect([...found].sort()).toEqual(['n-0', 'n-1']);
  });
});
