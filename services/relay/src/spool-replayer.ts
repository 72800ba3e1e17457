// Drains the spool into Kafka, skipping records the read-back finds already there.
import type { Logger } from 'pino';
import { SpoolError } from './errors.js';
import type { RelayMetrics } from './metrics.js';
import { countPublished } from './published-counts.js';
import type { Publisher } from './publisher.js';
import { relaySeqOf } from '@parsl-usage/schemas';
import type { Spool, SpooledRecord, SpooledSegment } from './spool.js';

/*
 * The replayer half of the spool (spool.ts is the segment log): it drains the log into Kafka
 * once Kafka answers again, reading back what an earlier attempt may already have published.
 */

export interface ReplayerDeps {
  spool: Spool;
  publisher: Publisher;
  metrics: RelayMetrics;
  logger: Logger;
  chunkMaxMessages: number;
  backoff?: { initialMs: number; maxMs: number };
  /**
   * How long a read-back waits, after Kafka answers it, before it takes the end offsets it
   * reads to: a request the client gave up on may still be appended, or replicated, by the
   * broker meanwhile. The publisher's request timeout (10 s) by default.
   */
  settleMs?: number;
  now?: () => number;
}

const DEFAULT_SETTLE_MS = 10_000;

/** What one read-back of a topic looks for: the records' `relay_seq` values, and since when. */
export interface TopicQuery {
  sinceMs: number;
  wanted: Set<string>;
}

/**
 * The uncertain records from `from` on, by topic: the `relay_seq` values to look for and the
 * oldest attempt among them. Records without a `relay_seq` are left out.
 */
export function queriesByTopic(records: readonly SpooledRecord[], from: number): Map<string, TopicQuery> {
  const byTopic = new Map<string, TopicQuery>();
  for (let i = from; i < records.length; i++) {
    const r = records[i];
    if (r?.doubtSinceMs === undefined) continue;
    // Spooled by a relay version that did not number its records: nothing to match on, so
    // such a record is sent again (at least once, as before).
    const seq = relaySeqOf(r.value, r.headers);
    if (seq === undefined) continue;
    let t = byTopic.get(r.topic);
    if (t === undefined) byTopic.set(r.topic, (t = { sinceMs: Infinity, wanted: new Set() }));
    t.sinceMs = Math.min(t.sinceMs, r.doubtSinceMs);
    t.wanted.add(seq);
  }
  return byTopic;
}

/**
 * After the read-backs: sets `present[i]` to 1 for each uncertain record from `from` on that
 * `found` holds for its topic, and clears the doubt of every uncertain one. Returns how many
 * were found.
 */
export function markFound(
  records: readonly SpooledRecord[],
  from: number,
  found: ReadonlyMap<string, ReadonlySet<string>>,
  present: Uint8Array,
): number {
  let hits = 0;
  for (let i = from; i < records.length; i++) {
    const r = records[i];
    if (r?.doubtSinceMs === undefined) continue;
    const seq = relaySeqOf(r.value, r.headers);
    if (seq !== undefined && found.get(r.topic)?.has(seq) === true) {
      present[i] = 1;
      hits++;
    }
    delete r.doubtSinceMs;
  }
  return hits;
}

/** Records [from, end): those to send, and those found in the topic already (`present`). */
export function splitChunk(
  records: readonly SpooledRecord[],
  from: number,
  end: number,
  present: Uint8Array,
): { send: SpooledRecord[]; skipped: SpooledRecord[] } {
  const send: SpooledRecord[] = [];
  const skipped: SpooledRecord[] = [];
  for (let i = from; i < end; i++) {
    const r = records[i];
    if (r !== undefined) (present[i] === 1 ? skipped : send).push(r);
  }
  return { send, skipped };
}

/** A failed produce may have appended some of them: each is in doubt since its first attempt. */
export function markUncertain(records: readonly SpooledRecord[], attemptMs: number): void {
  for (const r of records) r.doubtSinceMs = Math.min(r.doubtSinceMs ?? attemptMs, attemptMs);
}

/**
 * Drains the spool into Kafka, oldest segment first, in chunks. A segment is deleted only once
 * every chunk of it is acknowledged. Records whose earlier publish may have landed (it failed
 * without a clear answer, or an earlier run crashed mid-replay) are first looked up in the
 * topic by their `relay_seq` header, and those already there are not sent again: across an
 * outage each record reaches Kafka once. A chunk Kafka can never accept is dropped and
 * counted rather than left to block everything behind it.
 */
export class SpoolReplayer {
  private loop: Promise<void> | undefined;
  private wanted = false;
  private stopped = false;
  // Every sleep in progress (the replay backoff, read-back settles): stop() ends them all.
  private readonly wakers = new Set<() => void>();
  // How far into the head segment this run has published: if removing the segment failed,
  // the next pass resumes there instead of publishing (and counting) those records again.
  private head: { seq: number; pos: number } | undefined;

  constructor(private readonly deps: ReplayerDeps) {}

  /** Called after every append, and at start for what an earlier run left behind. */
  kick(): void {
    if (this.stopped) return;
    this.wanted = true;
    this.loop ??= this.run()
      .catch((err: unknown) => {
        // A spool read or delete failed; the next append kicks the replayer again.
        this.deps.logger.error({ err }, 'spool replay stopped by a spool error');
      })
      .finally(() => {
        this.loop = undefined;
      });
  }

  isRunning(): boolean {
    return this.loop !== undefined;
  }

  /** Stops after the chunk in flight; what is left stays on disk for the next start. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakers) wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { spool, logger } = this.deps;
    // The backoff carries over from one segment to the next.
    const retry = { delayMs: this.backoff().initialMs };
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      while (!this.stopped && !spool.isEmpty()) {
        const seg = await spool.readOldest();
        if (seg === undefined) break;
        this.countOpened(seg);
        await this.replaySegment(seg, retry);
        if (this.stopped) break;
        await spool.remove(seg.seq);
        if (spool.isEmpty()) logger.info('spool drained');
      }
    }
  }

  private backoff(): { initialMs: number; maxMs: number } {
    return this.deps.backoff ?? { initialMs: 200, maxMs: 10_000 };
  }

  /** What reading a segment found: an earlier run's records, and what was lost or torn. */
  private countOpened(seg: SpooledSegment): void {
    const { metrics, logger } = this.deps;
    if (seg.recovered > 0) {
      metrics.spoolRecovered.inc({}, seg.recovered);
      metrics.spoolMessages.inc(seg.recovered);
    }
    if (seg.lost > 0) {
      metrics.dropped.inc({ reason: 'spool_corrupt' }, seg.lost);
      metrics.spoolMessages.dec(seg.lost);
    }
    if (seg.tornBytes > 0) {
      metrics.spoolTornBytes.inc({}, seg.tornBytes);
      logger.error(
        { seq: seg.seq, tornBytes: seg.tornBytes, lostMessages: seg.lost },
        'spool segment has a torn tail; dropped it',
      );
    }
  }

  /** Publishes a segment chunk by chunk, from where this run left it; returns when done or stopped. */
  private async replaySegment(seg: SpooledSegment, retry: { delayMs: number }): Promise<void> {
    const now = this.deps.now ?? Date.now;
    let pos = this.head?.seq === seg.seq ? this.head.pos : 0;
    const head = { seq: seg.seq, pos };
    this.head = head;
    const { records } = seg;
    // 1 where the record was found in the topic already: it is counted, never re-sent.
    const present = new Uint8Array(records.length);
    let uncertain = records.some((r, i) => i >= pos && r.doubtSinceMs !== undefined);
    while (pos < records.length && !this.stopped) {
      const t0 = now();
      const end = Math.min(pos + this.deps.chunkMaxMessages, records.length);
      let chunk: SpooledRecord[] = [];
      try {
        if (uncertain) {
          await this.lookUp(records, pos, present);
          uncertain = false;
        }
        const split = splitChunk(records, pos, end, present);
        chunk = split.send;
        await this.publishChunk(split, end - pos, t0);
        pos = end;
        head.pos = pos;
        retry.delayMs = this.backoff().initialMs;
      } catch (err) {
        // Stopped mid read-back: the records keep their doubt on disk (headAtOpen).
        if (this.stopped) break;
        const retriable = (err as { retriable?: unknown }).retriable === true;
        this.deps.metrics.publishErrors.inc({ retriable: String(retriable) });
        if (!retriable) {
          this.dropRefused(err, records, pos, end, present);
          pos = end;
          head.pos = pos;
          continue;
        }
        if (chunk.length > 0) {
          markUncertain(chunk, t0);
          uncertain = true;
        }
        await this.backOff(err, retry);
      }
    }
  }

  /** Sends a chunk's records not yet in the topic, and counts the whole chunk published. */
  private async publishChunk(
    split: { send: SpooledRecord[]; skipped: SpooledRecord[] },
    size: number,
    t0: number,
  ): Promise<void> {
    const { publisher, metrics } = this.deps;
    const now = this.deps.now ?? Date.now;
    const { send, skipped } = split;
    if (send.length > 0) await publisher.publish(send);
    countPublished(metrics, send);
    countPublished(metrics, skipped);
    metrics.spoolAlreadyPublished.inc({}, skipped.length);
    metrics.spoolMessages.dec(size);
    if (send.length > 0) metrics.publishLatency.observe((now() - t0) / 1000);
  }

  /** Kafka refused records [pos, end) for good: those found in the topic count as published, the rest are dropped. */
  private dropRefused(
    err: unknown,
    records: SpooledRecord[],
    pos: number,
    end: number,
    present: Uint8Array,
  ): void {
    const { metrics, logger } = this.deps;
    const inKafka = records.slice(pos, end).filter((_, i) => present[pos + i] === 1);
    countPublished(metrics, inKafka);
    metrics.spoolAlreadyPublished.inc({}, inKafka.length);
    metrics.dropped.inc({ reason: 'publish_rejected' }, end - pos - inKafka.length);
    metrics.spoolMessages.dec(end - pos);
    logger.error(
      { err, messages: end - pos - inKafka.length },
      'Kafka refused spooled messages for good; dropped',
    );
  }

  /** Waits before the next attempt, doubling the wait up to the backoff's maximum. */
  private async backOff(err: unknown, retry: { delayMs: number }): Promise<void> {
    this.deps.logger.warn(
      { err: (err as Error).message, retryInMs: retry.delayMs },
      'spool replay: Kafka unavailable',
    );
    await this.sleep(retry.delayMs);
    retry.delayMs = Math.min(this.backoff().maxMs, retry.delayMs * 2);
  }

  /**
   * Marks in `present` the uncertain records from `from` on that the topic already holds, and
   * clears their doubt. Every failed attempt ended before this began, so the read-back's settle
   * (`settleMs` after Kafka answers it) gives each of them that long to land.
   */
  private async lookUp(records: SpooledRecord[], from: number, present: Uint8Array): Promise<void> {
    const now = this.deps.now ?? Date.now;
    const byTopic = queriesByTopic(records, from);
    const settle = async (): Promise<void> => {
      await this.sleep(this.deps.settleMs ?? DEFAULT_SETTLE_MS);
      if (this.stopped) throw new SpoolError('replayer stopped', { retriable: true });
    };
    // The topics (raw and rejected, as a rule) are read back side by side: their settles overlap.
    const outcomes = await Promise.allSettled(
      [...byTopic].map(async ([topic, t]) => {
        const t0 = now();
        const seqs = await this.deps.publisher.findPublished(topic, t.sinceMs, t.wanted, settle);
        this.deps.metrics.readbackLatency.observe((now() - t0) / 1000);
        return [topic, seqs] as const;
      }),
    );
    const found = new Map<string, Set<string>>();
    let failure: { reason: unknown } | undefined;
    for (const o of outcomes) {
      if (o.status === 'fulfilled') {
        found.set(o.value[0], o.value[1]);
        this.deps.metrics.readbacks.inc({ outcome: 'ok' });
      } else {
        failure ??= o;
        if (!this.stopped) this.deps.metrics.readbacks.inc({ outcome: 'failed' });
      }
    }
    if (failure !== undefined) throw failure.reason;
    const hits = markFound(records, from, found, present);
    this.deps.logger.info(
      { uncertain: [...byTopic.values()].reduce((n, t) => n + t.wanted.size, 0), alreadyInKafka: hits },
      'spool replay: checked uncertain records against the topic',
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const wakers = this.wakers;
      function done(): void {
        clearTimeout(t);
        wakers.delete(done);
        resolve();
      }
      wakers.add(done);
    });
  }
}
