import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import { countPublished } from './published-counts.js';
import type { RelayRecord } from './records.js';

const record = (topic: string): RelayRecord => ({ topic, key: null, value: Buffer.from('x'), headers: {} });

describe('countPublished', () => {
  it.each([
    ['nothing', [], { raw: 0, rejected: 0 }],
    ['one topic', ['raw', 'raw', 'raw'], { raw: 3, rejected: 0 }],
    ['both topics, interleaved', ['raw', 'rejected', 'raw', 'rejected', 'raw'], { raw: 3, rejected: 2 }],
  ])('%s', (_, topics, want) => {
    const metrics = createMetrics();
    countPublished(metrics, topics.map(record));
    expect({
      raw: metrics.published.get({ topic: 'raw' }),
      rejected: metrics.published.get({ topic: 'rejected' }),
    }).toEqual(want);
    expect(metrics.published.total()).toBe(topics.length);
  });

  it('adds to what was counted before', () => {
    const metrics = createMetrics();
    countPublished(metrics, [record('raw')]);
    countPublished(metrics, [record('raw'), record('rejected')]);
    expect(metrics.published.get({ topic: 'raw' })).toBe(2);
    expect(metrics.published.get({ topic: 'rejected' })).toBe(1);
  });
});
