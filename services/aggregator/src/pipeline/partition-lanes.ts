/**
 * Background writing, one lane per partition. A batch is processed in kafkajs' eachBatch and its
 * writes (inserts, then the commit) are queued on its partition's lane; eachBatch returns, and
 * kafkajs fetches and processes the next batches while ClickHouse takes this one. Before, every
 * fetch waited for its batches' inserts and commits: about 40 % of the aggregator's time was
 * spent idle (bench/peer/aggregator-profile-2026-12-03.txt).
 *
 * A lane runs its writes one after the other, in offset order: a batch's rows are sent only
 * after the previous batch's landed and were committed, so what ClickHouse holds of a partition
 * is always a prefix of it (what the watermarks, and so replays, rely on). At most `maxQueued`
 * writes wait or run; the next batch waits for room (memory stays bounded).
 *
 * When a write fails, the lane's epoch moves on: the writes queued behind it are dropped, and
 * the partition is read again from its last commit (`seek`). The batch handler finds the
 * failure when that read comes back (recover in batch-handler.ts). Pure of kafkajs and
 * ClickHouse: the seek and the classification of errors come in as functions.
 */
export interface LaneFailure {
  error: unknown;
  /** ClickHouse refused rows: the partition is written again batch by batch, with isolation */
  refused: boolean;
  /** the highest offset processed when the write failed: batches up to it are written inline */
  through: bigint;
}

export interface LaneOptions {
  /** writes waiting or running at most (2: one in ClickHouse, the next one ready) */
  maxQueued: number;
  isRefusal: (err: unknown) => boolean;
  /** Reads the partition again from `offset` (kafkajs' consumer.seek). */
  seek: (offset: bigint) => void;
}

export class PartitionLane {
  /** Moves on when queued writes must be dropped: a failure, a group join, a crash. */
  private epochNo = 0;
  private tail: Promise<void> = Promise.resolve();
  private commits: Promise<void> = Promise.resolve();
  private readonly queued: Promise<void>[] = [];
  failure: LaneFailure | null = null;
  /** the offset kafkajs reads from after a seek: the last commit's next, else the epoch's first batch's */
  next: bigint | null = null;
  /** the highest offset processed in this epoch */
  processed = -1n;
  /** batches starting at or below this offset are written inline, isolation included */
  inlineThrough = -1n;

  constructor(private readonly opts: LaneOptions) {}

  get epoch(): number {
    return this.epochNo;
  }

  get depth(): number {
    return this.queued.length;
  }

  /** Waits until a write may be queued; `tick` runs every `tickMs` meanwhile (kafkajs heartbeats). */
  async admit(tick: () => Promise<void>, tickMs = 2_000): Promise<void> {
    while (this.queued.length >= this.opts.maxQueued) {
      const first = this.queued[0];
      let timer: NodeJS.Timeout | undefined;
      const ticked = new Promise<void>((r) => (timer = setTimeout(r, tickMs)));
      await Promise.race([first, ticked]);
      clearTimeout(timer);
      await tick();
    }
  }

  /**
   * Queues `write` behind the lane's earlier writes. It runs only while the epoch it was queued
   * in lasts (`isCurrent`); if it throws in that epoch, the lane fails.
   */
  enqueue(write: (isCurrent: () => boolean) => Promise<void>): void {
    const run = this.tail.then(this.guarded(write));
    this.tail = run;
    this.queued.push(run);
    void run.then(() => this.queued.shift());
  }

  /**
   * Queues a commit behind the lane's earlier commits, apart from its writes: the next write does
   * not wait for it. Every lane's next write is then ready the moment their shared insert
   * returns, and they go out together again (group-insert.ts); waiting for each partition's
   * commit first split them into one insert per partition, which cost ClickHouse more than
   * the overlap saved (BENCHMARKS.md, issue 24). A commit failing fails the lane like a write.
   */
  commitLater(commit: (isCurrent: () => boolean) => Promise<void>): void {
    this.commits = this.commits.then(this.guarded(commit));
  }

  /** `step` as the lane runs it: skipped once its epoch is over, a throw in its epoch fails the lane. */
  private guarded(step: (isCurrent: () => boolean) => Promise<void>): () => Promise<void> {
    const epoch = this.epochNo;
    const isCurrent = (): boolean => this.epochNo === epoch;
    return async () => {
      if (!isCurrent()) return;
      try {
        await step(isCurrent);
      } catch (err) {
        if (isCurrent()) this.fail(err);
      }
    };
  }

  /** A batch was committed through `lastOffset`. */
  committed(lastOffset: bigint): void {
    this.next = lastOffset + 1n;
  }

  /** Forget the epoch (a group join, a crash, a failed batch): queued writes are dropped. */
  drop(): void {
    this.epochNo++;
    this.failure = null;
    this.next = null;
    this.processed = -1n;
    this.inlineThrough = -1n;
  }

  /** Resolves when every write and commit queued so far has ended (or was dropped). Never rejects. */
  async idle(): Promise<void> {
    await this.tail;
    await this.commits;
  }

  private fail(error: unknown): void {
    this.epochNo++;
    this.failure = { error, refused: this.opts.isRefusal(error), through: this.processed };
    if (this.next !== null) this.opts.seek(this.next);
  }
}

/** The lanes of every partition this instance consumes. */
export class PartitionLanes {
  private readonly lanes = new Map<number, PartitionLane>();

  constructor(
    private readonly opts: Omit<LaneOptions, 'seek'> & {
      seek: (partition: number, offset: bigint) => void;
    },
  ) {}

  get(partition: number): PartitionLane {
    let lane = this.lanes.get(partition);
    if (lane === undefined) {
      const { maxQueued, isRefusal, seek } = this.opts;
      lane = new PartitionLane({ maxQueued, isRefusal, seek: (offset) => seek(partition, offset) });
      this.lanes.set(partition, lane);
    }
    return lane;
  }

  dropAll(): void {
    for (const lane of this.lanes.values()) lane.drop();
  }

  /** Resolves when every lane's queued writes have ended. */
  async idle(): Promise<void> {
    await Promise.all([...this.lanes.values()].map((l) => l.idle()));
  }

  get depth(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.depth;
    return n;
  }
}
