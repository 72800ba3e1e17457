// Reads a topic back after an uncertain publish: which of the wanted relay_seq values it holds.
import { randomUUID } from 'node:crypto';
import type { Admin, EachBatchPayload, IHeaders, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { PublishError } from './errors.js';
import { relaySeqsOf } from '@parsl-usage/schemas';

/**
 * Record timestamps are the producer's clock (kafkajs stamps a batch when it encodes it), so
 * a record sent at or after t has a timestamp >= t on this machine. The margin covers a topic
 * configured with LogAppendTime, where the broker's clock stamps it instead.
 */
const CLOCK_MARGIN_MS = 60_000;
const DEFAULT_TIMEOUT_MS = 60_000;

/** The offsets [from, end) of one partition still to read. */
export interface OffsetRange {
  from: bigint;
  end: bigint;
}

/**
 * Per partition, [from, end) offsets still to read; partitions with nothing left are absent.
 * `ends` are the partitions' offsets now (low, high), `starts` the first offset at or after the
 * time the read-back starts from (absent where the broker has none).
 */
export function rangesToRead(
  ends: ReadonlyArray<{ partition: number; low: string; high: string }>,
  starts: ReadonlyArray<{ partition: number; offset: string }>,
): Map<number, OffsetRange> {
  const ranges = new Map<number, OffsetRange>();
  for (const e of ends) {
    const low = BigInt(e.low);
    const end = BigInt(e.high);
    const byTime = starts.find((s) => s.partition === e.partition)?.offset;
    // Retention may have deleted the start of the range: read from what is left.
    let from = byTime === undefined ? low : BigInt(byTime);
    if (from < low) from = low;
    if (from < end) ranges.set(e.partition, { from, end });
  }
  return ranges;
}

/**
 * One fetched batch of a partition: adds to `found` the wanted `relay_seq` values of its records
 * below the range's end. `read` counts those records; `done` says the batch reached the end.
 */
export function scanBatch(
  batch: {
    messages: ReadonlyArray<{ offset: string; value: Buffer | null; headers?: IHeaders }>;
    lastOffset: () => string;
  },
  range: OffsetRange,
  wanted: ReadonlySet<string>,
  found: Set<string>,
): { read: number; done: boolean } {
  let read = 0;
  for (const m of batch.messages) {
    if (BigInt(m.offset) >= range.end) break;
    read++;
    for (const seq of relaySeqsOf(m.value, m.headers)) if (wanted.has(seq)) found.add(seq);
  }
  return { read, done: BigInt(batch.lastOffset()) + 1n >= range.end };
}

/**
 * A promise settled by `finish` or `fail`, which fails by itself (with `stalled()`) when no
 * `touch` came for `timeoutMs`: a stall, not a total, since a long outage can leave a long
 * range to read.
 */
function stallLatch(
  timeoutMs: number,
  stalled: () => Error,
): {
  done: Promise<void>;
  finish: () => void;
  fail: (err: Error) => void;
  touch: () => void;
  clear: () => void;
} {
  let finish: () => void = () => undefined;
  let fail: (err: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const onStall = (): void => fail(stalled());
  let timer = setTimeout(onStall, timeoutMs);
  return {
    done,
    finish: () => finish(),
    fail: (err) => fail(err),
    touch: () => {
      clearTimeout(timer);
      timer = setTimeout(onStall, timeoutMs);
    },
    clear: () => clearTimeout(timer),
  };
}

export interface TopicReadbackOptions {
  kafka: Kafka;
  /** Each read-back joins a fresh, never-committing consumer group named from this. */
  groupPrefix: string;
  logger: Logger;
  /** Gives up (retriably) after this long without reading anything. */
  timeoutMs?: number;
}

/**
 * Reads a topic back to find which of a set of records an uncertain publish did append. Used
 * rarely (after a failed publish, before the spool replays), so it favours being simple and
 * exact over being quick: a throwaway consumer reads every partition from the first offset
 * whose timestamp is >= `sinceMs - margin` up to an end offset taken `settle` after the leaders
 * answered the read-back.
 *
 * Why the settle counts from that answer and not from the failed attempt: a broker that was
 * frozen (a long GC or VM pause, `podman pause` in test/relay-outage.test.ts) holds the timed-out
 * produce request in its socket buffer and appends it when it thaws, in no fixed order with
 * requests on other connections. End offsets taken on the thaw could miss it (the likeliest
 * cause of a CI run that re-sent 10 records). Once the leaders answer, the broker is running
 * again, and it works through what it had buffered within the settle time.
 */
export class TopicReadback {
  private admin: Admin | undefined;

  constructor(private readonly opts: TopicReadbackOptions) {}

  async find(
    topic: string,
    sinceMs: number,
    wanted: ReadonlySet<string>,
    settle: () => Promise<void> = () => Promise.resolve(),
  ): Promise<Set<string>> {
    const found = new Set<string>();
    if (wanted.size === 0) return found;
    try {
      const ranges = await this.ranges(topic, Math.max(0, sinceMs - CLOCK_MARGIN_MS), settle);
      if (ranges.size > 0) await this.scan(topic, ranges, wanted, found);
      return found;
    } catch (err) {
      await this.dropAdmin();
      if (err instanceof PublishError) throw err;
      throw new PublishError(`reading ${topic} back failed: ${(err as Error).message}`, {
        retriable: true,
        cause: err,
      });
    }
  }

  async close(): Promise<void> {
    await this.dropAdmin();
  }

  /** Per partition, [from, end) offsets still to read; partitions with nothing left are absent. */
  private async ranges(
    topic: string,
    sinceMs: number,
    settle: () => Promise<void>,
  ): Promise<Map<number, OffsetRange>> {
    if (this.admin === undefined) {
      const admin = this.opts.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    // The leaders answering is the settle's starting point (see the class comment).
    await this.admin.fetchTopicOffsets(topic);
    await settle();
    // Ends before starts: whatever the scan must see was appended before this.
    const ends = await this.admin.fetchTopicOffsets(topic);
    const starts = await this.admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
    return rangesToRead(ends, starts);
  }

  private async scan(
    topic: string,
    ranges: Map<number, OffsetRange>,
    wanted: ReadonlySet<string>,
    found: Set<string>,
  ): Promise<void> {
    const left = new Map(ranges);
    const consumer = this.opts.kafka.consumer({
      groupId: `${this.opts.groupPrefix}-${randomUUID()}`,
      allowAutoTopicCreation: false,
    });
    const timeoutMs = this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const latch = stallLatch(
      timeoutMs,
      () =>
        new PublishError(`reading ${topic} back made no progress for ${timeoutMs} ms`, { retriable: true }),
    );
    const t0 = Date.now();
    let read = 0;
    consumer.on(consumer.events.CRASH, (e) => latch.fail(e.payload.error));
    const eachBatch = ({ batch }: EachBatchPayload): Promise<void> => {
      const range = left.get(batch.partition);
      if (range === undefined) return Promise.resolve();
      latch.touch();
      const scanned = scanBatch(batch, range, wanted, found);
      read += scanned.read;
      if (scanned.done) {
        left.delete(batch.partition);
        consumer.pause([{ topic, partitions: [batch.partition] }]);
        if (left.size === 0) latch.finish();
      }
      return Promise.resolve();
    };
    const work = (async () => {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: false });
      await consumer.run({ autoCommit: false, eachBatch });
      for (const [partition, r] of ranges) consumer.seek({ topic, partition, offset: r.from.toString() });
      await latch.done;
    })();
    // Whichever settles first: a timeout or crash must not wait for a hung connect.
    work.catch(() => undefined);
    try {
      await Promise.race([work, latch.done]);
      this.opts.logger.info(
        { topic, partitions: ranges.size, read, found: found.size, wanted: wanted.size, ms: Date.now() - t0 },
        'read the topic back after an uncertain publish',
      );
    } finally {
      latch.clear();
      await consumer.disconnect().catch(() => undefined);
    }
  }

  private async dropAdmin(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }
}
