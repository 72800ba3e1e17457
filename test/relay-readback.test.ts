import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TopicReadback } from '../services/relay/src/readback.js';
import { freshTopics, kafka } from './setup/env.js';

/*
 * The read-back against a real broker: which `relay_seq` values a topic holds, from a time on.
 * The relay relies on it to skip spooled records that an uncertain publish did append
 * (services/relay/README.md, "exactly once"); a miss there is a duplicate in the topic.
 */
const logger = pino({ level: 'silent' });
const MINUTE = 60_000; // ms

describe('TopicReadback against real Kafka', () => {
  let topic: string;
  let emptyTopic: string;
  let readback: TopicReadback;
  const now = Date.now();

  beforeAll(async () => {
    ({ raw: topic } = await freshTopics(3));
    ({ raw: emptyTopic } = await freshTopics(3));
    const producer = kafka('readback-it').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const msg = (seq: string, key: string, timestampMs: number) => ({
        key,
        value: `1{"correlator":"${key}"}`,
        timestamp: String(timestampMs),
        headers: { relay_seq: seq, relay_id: 'readback-it' },
      });
      await producer.send({
        topic,
        acks: -1,
        messages: [
          // An hour old: before any range asked for below.
          msg('old-1', 'wf-a', now - 60 * MINUTE),
          msg('old-2', 'wf-b', now - 60 * MINUTE),
          // Recent, spread over the partitions by key.
          ...Array.from({ length: 30 }, (_, i) => msg(`new-${i}`, `wf-${i}`, now - i * 100)),
        ],
      });
      // A record without relay_seq (another producer, an older relay) must not disturb the scan.
      await producer.send({ topic, acks: -1, messages: [{ key: 'wf-x', value: 'x' }] });
    } finally {
      await producer.disconnect();
    }
    readback = new TopicReadback({ kafka: kafka('readback-it'), groupPrefix: 'readback-it', logger });
  });

  afterAll(async () => {
    await readback?.close();
  });

  it.each([
    ['recent records, all present', now - MINUTE, ['new-0', 'new-7', 'new-29'], ['new-0', 'new-7', 'new-29']],
    ['present and absent mixed', now - MINUTE, ['new-3', 'never-sent', 'new-12'], ['new-3', 'new-12']],
    ['nothing asked for that is there', now - MINUTE, ['never-1', 'never-2'], []],
    // The range starts at since minus the clock margin (60 s): an hour-old record is outside it.
    ['older than the range', now - MINUTE, ['old-1', 'old-2', 'new-1'], ['new-1']],
    ['a range that reaches back far enough', now - 2 * 60 * MINUTE, ['old-1', 'old-2'], ['old-1', 'old-2']],
    ['a range starting after the last record', now + 10 * MINUTE, ['new-0'], []],
  ] as const)('%s', async (_name, sinceMs, wanted, found) => {
    const got = await readback.find(topic, sinceMs, new Set(wanted));
    expect([...got].sort()).toEqual([...found].sort());
  });

  it('an empty topic and an empty question answer at once with nothing', async () => {
    expect(await readback.find(emptyTopic, now - MINUTE, new Set(['new-0']))).toEqual(new Set());
    expect(await readback.find(topic, 0, new Set())).toEqual(new Set());
  });

  it('finds a record appended during the settle, after the leaders first answered', async () => {
    // What a frozen broker does on thaw: it appends the request it held while the read-back is
    // already under way. The end offsets are taken after the settle, so the record is inside.
    const producer = kafka('readback-it-late').producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let settled = 0;
    try {
      const got = await readback.find(topic, Date.now() - MINUTE, new Set(['late-1', 'new-4']), async () => {
        settled++;
        await producer.send({
          topic,
          acks: -1,
          messages: [{ key: 'wf-late', value: '1{}', headers: { relay_seq: 'late-1' } }],
        });
      });
      expect(settled).toBe(1);
      expect([...got].sort()).toEqual(['late-1', 'new-4']);
    } finally {
      await producer.disconnect();
    }
  });

  it('a topic that does not exist is a retriable error, not an empty answer', async () => {
    await expect(
      readback.find('no-such-topic-readback-it', now - MINUTE, new Set(['x'])),
    ).rejects.toMatchObject({
      retriable: true,
    });
  });
});
