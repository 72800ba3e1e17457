import { pino } from 'pino';
import { PublishError } from './errors.js';
import { createMetrics } from './metrics.js';
import type { Publisher } from './publisher.js';
import { relaySeqOf } from '@parsl-usage/schemas';
import type { RelayRecord } from './records.js';
import type { Spool } from './spool.js';
import { SpoolReplayer, type ReplayerDeps } from './spool-replayer.js';

/**
 * Kafka stand-in for unit tests (the build leaves `*.fixture.ts` out). `published` is the
 * topic: what landed, in order. Modes:
 *  - up: lands and acknowledges;
 *  - down: fails retriably, nothing lands;
 *  - refuse: fails for good, nothing lands;
 *  - ghost: lands, then fails retriably, as a timed-out request the broker did append.
 */
export class FakePublisher implements Publisher {
  readonly published: RelayRecord[] = [];
  mode: 'up' | 'down' | 'refuse' | 'ghost' = 'up';
  /** Refuse this many publishes for good, then go back to `mode`. */
  permanentFailures = 0;
  /** Calls of findPublished, with how many records each looked for. */
  readonly lookups: { topic: string; sinceMs: number; wanted: number }[] = [];
  /** Read-backs that reached their settle (Kafka answered); how many settled at once, at most. */
  settles = 0;
  maxSettling = 0;
  private settling = 0;
  /** Settle publishes on a later turn, as a network client does. */
  asynchronous = false;

  async publish(records: readonly RelayRecord[]): Promise<void> {
    if (this.asynchronous) await new Promise((r) => setImmediate(r));
    if (this.permanentFailures > 0) {
      this.permanentFailures--;
      throw new PublishError('refused', { retriable: false });
    }
    switch (this.mode) {
      case 'down':
        throw new PublishError('down', { retriable: true });
      case 'refuse':
        throw new PublishError('refused', { retriable: false });
      case 'ghost':
        this.published.push(...records);
        throw new PublishError('timed out', { retriable: true });
      case 'up':
        this.published.push(...records);
    }
  }

  async findPublished(
    topic: string,
    sinceMs: number,
    wanted: ReadonlySet<string>,
    settle: () => Promise<void>,
  ): Promise<Set<string>> {
    if (this.mode === 'down') throw new PublishError('down', { retriable: true });
    this.settles++;
    this.settling++;
    this.maxSettling = Math.max(this.maxSettling, this.settling);
    try {
      await settle();
    } finally {
      this.settling--;
    }
    this.lookups.push({ topic, sinceMs, wanted: wanted.size });
    const found = new Set<string>();
    for (const r of this.published) {
      const seq = relaySeqOf(r.value, r.headers);
      if (r.topic === topic && seq !== undefined && wanted.has(seq)) found.add(seq);
    }
    return found;
  }

  isConnected = (): boolean => this.mode !== 'down';
  connect = (): Promise<void> => Promise.resolve();
  disconnect = (): Promise<void> => Promise.resolve();
}

/** A replayer for unit tests: small chunks, millisecond backoff, no settle wait. */
export function testReplayer(
  spool: Spool,
  publisher: Publisher,
  over: Partial<Omit<ReplayerDeps, 'spool' | 'publisher'>> = {},
) {
  const metrics = over.metrics ?? createMetrics();
  const replayer = new SpoolReplayer({
    spool,
    publisher,
    metrics,
    logger: pino({ level: 'silent' }),
    chunkMaxMessages: 2,
    backoff: { initialMs: 1, maxMs: 2 },
    settleMs: 0,
    ...over,
  });
  return { metrics, replayer };
}

/** Resolves once the spool is empty and the replayer idle. */
export async function drained(spool: Spool, replayer: SpoolReplayer): Promise<void> {
  while (!spool.isEmpty() || replayer.isRunning()) await new Promise((r) => setTimeout(r, 2));
}
