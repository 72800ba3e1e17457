// Gathers accepted and rejected records into batches by size and age, delivered one at a time.
import type { RelayRecord } from './records.js';

export interface Batch {
  records: RelayRecord[];
  /** When the first record arrived: batch latency is measured from here. */
  openedAtMs: number;
}

export interface BatcherOptions {
  maxMessages: number;
  maxMs: number;
  /**
   * Records in sealed batches waiting for delivery. A batch that would pass it is handed to
   * onOverflow together with everything queued before it, oldest first, and the queue empties:
   * the caller spills them to disk in one step, so their order is kept.
   */
  maxPendingMessages: number;
  /** Must not reject: it publishes, spools, or drops and counts. */
  deliver: (batch: Batch) => Promise<void>;
  onOverflow: (batch: Batch) => void;
  onDeliverError: (batch: Batch, err: unknown) => void;
  now: () => number;
}

/**
 * Accumulates records and seals a batch when it holds maxMessages or is maxMs old. Batches are
 * delivered one at a time in order: that single lane is what keeps spool and Kafka ordering
 * simple, and it is enough since each delivery carries up to maxMessages records.
 */
export class Batcher {
  private current: RelayRecord[] = [];
  private openedAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: Batch[] = [];
  private queuedMessages = 0;
  private pump: Promise<void> | undefined;

  constructor(private readonly opts: BatcherOptions) {}

  /** Never waits: the UDP handler calls this once per datagram. */
  add(record: RelayRecord): void {
    if (this.current.length === 0) {
      this.openedAtMs = this.opts.now();
      this.timer = setTimeout(() => this.seal(), this.opts.maxMs);
    }
    this.current.push(record);
    if (this.current.length >= this.opts.maxMessages) this.seal();
  }

  /** Records not yet handed to deliver, plus those being delivered. */
  get pendingBatches(): number {
    return this.queue.length + (this.pump === undefined ? 0 : 1);
  }

  /** Records added and not yet handed to deliver (the open batch and the sealed queue). */
  get bufferedMessages(): number {
    return this.current.length + this.queuedMessages;
  }

  /** Seals what is buffered and resolves once every batch so far is delivered. */
  async flush(): Promise<void> {
    this.seal();
    while (this.pump !== undefined) await this.pump;
  }

  private seal(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.current.length === 0) return;
    const batch = { records: this.current, openedAtMs: this.openedAtMs };
    this.current = [];
    if (this.queuedMessages + batch.records.length > this.opts.maxPendingMessages) {
      const spilled = this.queue.splice(0);
      spilled.push(batch);
      this.queuedMessages = 0;
      this.opts.onOverflow({
        records: spilled.flatMap((b) => b.records),
        openedAtMs: spilled[0]?.openedAtMs ?? batch.openedAtMs,
      });
      return;
    }
    this.queue.push(batch);
    this.queuedMessages += batch.records.length;
    this.pump ??= this.drain().finally(() => {
      this.pump = undefined;
    });
  }

  private async drain(): Promise<void> {
    for (let batch = this.take(); batch !== undefined; batch = this.take()) {
      try {
        await this.opts.deliver(batch);
      } catch (err) {
        this.opts.onDeliverError(batch, err);
      }
    }
  }

  /**
   * The next batch to deliver. Batches the timer sealed while a delivery was in flight are
   * merged up to maxMessages: under load one Kafka round trip then carries many small
   * batches' records instead of queueing a round trip for each.
   */
  private take(): Batch | undefined {
    const first = this.queue.shift();
    if (first === undefined) return undefined;
    let next = this.queue[0];
    if (next === undefined || first.records.length + next.records.length > this.opts.maxMessages) {
      this.queuedMessages -= first.records.length;
      return first;
    }
    const records = [...first.records];
    while (next !== undefined && records.length + next.records.length <= this.opts.maxMessages) {
      records.push(...next.records);
      this.queue.shift();
      next = this.queue[0];
    }
    this.queuedMessages -= records.length;
    return { records, openedAtMs: first.openedAtMs };
  }
}
